"""All UI text comes from the catalogue: every message in the code and templates
has its English translation, and the default language is Chinese."""
import os

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_every_message_is_translated():
    method_map = [("webapp/**.py", "python"), ("webapp/templates/**.html", "jinja2")]
    # (msgid, context): a message with a context (pgettext) is its own entry in the catalogue
    ids = {(m[2] if isinstance(m[2], str) else m[2][0], m[4])
           for m in extract_from_dir(ROOT, method_map=method_map, keywords=dict(DEFAULT_KEYWORDS, _l=None))
           if m[0].startswith("webapp")}
    with open(os.path.join(ROOT, "webapp/translations/en/LC_MESSAGES/messages.po"), "rb") as f:
        catalog = read_po(f)

    def translated(i):
        found = catalog.get(i[0], context=i[1])
        return bool(found and found.string and all(found.string if isinstance(found.string, tuple) else [True])
                    and "fuzzy" not in found.flags)
    missing = sorted(f"{i[1]}|{i[0]}" if i[1] else i[0] for i in ids if not translated(i))
    assert not missing, f"untranslated: {missing}"
    assert len(ids) > 100


def test_chinese_is_the_default(client):
    html = client.get("/login").get_data(as_text=True)
    assert 'lang="zh-CN"' in html and "用户名或手机号" in html
