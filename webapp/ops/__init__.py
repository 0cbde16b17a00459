"""Operations: what running Linli in production needs beyond the features."""
