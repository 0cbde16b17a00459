"""All UI text comes from the catalogue: every message in the code and templates
has its English translation, and the default language is Chinese."""
import os

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_every_message_is_translated():
    method_map = [("webapp/**.py", "python"), ("webapp/templates/**.html", "jinja2")]
    ids = {m[2] if isinstance(m[2], str) else m[2][0]
           for m in extract_from_dir(ROOT, method_map=method_map, keywords=dict(DEFAULT_KEYWORDS, _l=None))
           if m[0].startswith("webapp")}
    with open(os.path.join(ROOT, "webapp/translations/en/LC_MESSAGES/messages.po"), "rb") as f:
        catalog = read_po(f)
    missing = sorted(i for i in ids if not (catalog.get(i) and catalog.get(i).string
                                            and "fuzzy" not in catalog.get(i).flags))
    assert not missing, f"untranslated: {missing}"
    assert len(ids) > 100


def test_chinese_is_the_default(client):
    html = client.get("/login").get_data(as_text=True)
    assert 'lang="zh-CN"' in html and "用户名或手机号" in html
