"""Every message of the corpus (real-world shapes of common mail clients) parses.

The corpus in tests/mail/corpus was written by hand after the structure of
what Outlook, Gmail, Apple Mail and Thunderbird send, with the charsets and
attachments desks meet: 8-bit Latin-1, windows-1252 (also mislabelled as
Latin-1), Shift_JIS with ISO-2022-JP headers, HTML-only mail, RFC 2231 file
names, Outlook's winmail.dat and a forwarded message/rfc822.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from api.mail.parse import parse

CORPUS = Path(__file__).parent / "corpus"
FILES = sorted(CORPUS.glob("*.eml"))

# file: (sender, subject, the reply as displayed, attachment names)
EXPECTED: dict[str, tuple[str, str, str, list[str]]] = {
    "outlook_html_winmail.eml": (
        "juergen.weiss@corp.example",
        "AW: Drucker im 2. OG – defekt",
        "Hallo zusammen,\n\nder Drucker druckt wieder nur leere Seiten. Die Zahlen hänge ich an.",
        ["figures.txt"],
    ),
    "gmail_reply.eml": (
        "priya.raman@gmail.example",
        "Re: VPN drops every ten minutes [TD#1043]",
        "Still dropping after the update, see the timestamps: 10:02, 10:12, 10:22.",
        [],
    ),
    "apple_mail_inline_image.eml": (
        "tom@mac.example",
        "Screen flickers after docking",
        "Hi,\n\nthe external screen flickers as soon as I dock the laptop. "
        "Screenshot below.\n\nTom",
        ["screenshot.png"],
    ),
    "thunderbird_flowed_signature.eml": (
        "lena@tb.example",
        "Shared drive asks for a password again",
        "Good afternoon,",
        [],
    ),
    "iso_8859_1_8bit.eml": (
        "francois@old-client.example",
        "Grüße aus dem Lager",
        'Der Scanner im Lager zeigt "Fehler 5" an. Schöne Grüße, François Müller',
        [],
    ),
    "windows_1252_qp.eml": (
        "sean.obrien@win.example",
        "Invoice total shows € 0,00",
        "The invoice screen says “Total: € 0,00” for every order since Friday… "
        "Could you have a look?\n\nSean",
        [],
    ),
    "latin1_label_with_1252_bytes.eml": (
        "billing@legacy.example",
        "Price question",
        "The licence costs € 120 per seat – is that right?",
        [],
    ),
    "shift_jis.eml": (
        "yamada@jp.example",
        "プリンターの不具合",
        "お世話になっております。\nプリンターが印刷できません。\nよろしくお願いいたします。\n山田",
        [],
    ),
    "html_only.eml": (
        "noreply-form@intranet.example",
        "New request from the intranet form",
        "New request\nName: Kim Lee\nRequest: new monitor for desk 4.12\n\ndetails",
        [],
    ),
    "pdf_attachment_rfc2231.eml": (
        "accounts@shop.example",
        "Invoice for the new docking stations",
        "Please find the invoice attached.",
        ["Rechnung März.pdf"],
    ),
    "forwarded_rfc822.eml": (
        "maria.santos@corp.example",
        "Fwd: Your account will be locked",
        "Is this phishing? I got it this morning.",
        ["Your account will be locked.eml"],
    ),
    "unknown_charset_no_message_id.eml": (
        "scanner@printers.example",
        "Scan to mail test",
        "Scan job 17 finished.",
        [],
    ),
}


def test_every_corpus_file_has_its_expectations() -> None:
    assert sorted(EXPECTED) == [f.name for f in FILES]


@pytest.mark.parametrize("path", FILES, ids=[f.name for f in FILES])
def test_every_message_parses(path: Path) -> None:
    sender, subject, reply, attachments = EXPECTED[path.name]
    parsed = parse(path.read_bytes(), "desk.example")
    assert parsed.sender == sender
    assert parsed.subject == subject
    assert parsed.reply.startswith(reply)
    assert [a.filename for a in parsed.attachments] == attachments
    assert parsed.automatic is None
    assert parsed.message_id.startswith("<") and parsed.message_id.endswith(">")
    assert "\ufffd" not in parsed.text, "a charset was decoded wrongly"


def test_quoted_history_and_signatures_are_cut_but_the_whole_text_kept() -> None:
    gmail = parse((CORPUS / "gmail_reply.eml").read_bytes(), "desk.example")
    assert "wrote:" not in gmail.reply and "wrote:" in gmail.text
    outlook = parse((CORPUS / "outlook_html_winmail.eml").read_bytes(), "desk.example")
    assert "Original Message" not in outlook.reply and "Original Message" in outlook.text
    thunderbird = parse((CORPUS / "thunderbird_flowed_signature.eml").read_bytes(), "x")
    assert "Accounting, 3rd floor" not in thunderbird.reply
    apple = parse((CORPUS / "apple_mail_inline_image.eml").read_bytes(), "desk.example")
    assert "Sent from my iPhone" not in apple.reply


def test_html_is_sanitised_and_winmail_dat_opened() -> None:
    html_only = parse((CORPUS / "html_only.eml").read_bytes(), "desk.example")
    assert html_only.html is not None
    assert "<script" not in html_only.html and "alert" not in html_only.html
    assert "onclick" not in html_only.html and "javascript:" not in html_only.html
    assert "<b>new monitor</b>" in html_only.html
    outlook = parse((CORPUS / "outlook_html_winmail.eml").read_bytes(), "desk.example")
    (figures,) = outlook.attachments
    assert figures.content_type == "text/plain"
    assert figures.data.startswith(b"Quarterly figures")
    apple = parse((CORPUS / "apple_mail_inline_image.eml").read_bytes(), "desk.example")
    assert apple.attachments[0].inline and apple.attachments[0].data.startswith(b"\x89PNG")


def test_nul_characters_in_headers_are_dropped_and_long_reference_lists_cut() -> None:
    references = " ".join(f"<ref{i}@client.example>" for i in range(500))
    raw = (
        "From: =?utf-8?B?QW5uAEV4YW1wbGU=?= <ann@client.example>\r\n"
        "Subject: =?utf-8?B?SGVsbG8Ad29ybGQ=?=\r\n"
        f"References: {references}\r\n"
        "Message-ID: <nul@client.example>\r\n\r\nBody\r\n"
    ).encode()
    parsed = parse(raw, "desk.example")
    assert parsed.subject == "Helloworld" and parsed.sender_name == "AnnExample"
    assert len(parsed.references) == 50 and parsed.references[-1] == "<ref499@client.example>"
