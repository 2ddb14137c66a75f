"""Every message of the corpus (real-world shapes of common mail clients) parses.

The corpus in tests/mail/corpus was written by hand after the structure of
what Outlook, Gmail, Apple Mail and Thunderbird send, with the charsets and
attachments desks meet: 8-bit Latin-1, windows-1252 (also mislabelled as
Latin-1), Shift_JIS with ISO-2022-JP headers, HTML-only mail, RFC 2231 file
names, Outlook's winmail.dat and a forwarded message/rfc822.

The Japanese, Arabic and Persian samples were built byte for byte in the
encodings their clients use: ISO-2022-JP (7bit JIS body, a subject split into
several RFC 2047 encoded words that each return to ASCII), EUC-JP 8bit,
Shift_JIS-labelled CP932 from Outlook (①, ㈱), Outlook's ISO-2022-JP with NEC
special characters under the JIS X 0208 escape, windows-1256 quoted-printable
from Arabic Outlook (with shadda), UTF-8 base64 Persian from Gmail (ZWNJ inside
words) and UTF-8 quoted-printable Arabic from Apple Mail.
"""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from api.mail.parse import html_to_text, parse

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

JA_ISO_2022_JP = (
    "【至急】経費精算システムにログインできません",
    "佐藤 花子",
    "サポートご担当者様\n\n"
    "お世話になっております。経理部の佐藤です。\n"
    "今朝から経費精算システムにログインできません。\n"
    "「パスワードが違います」と表示されますが、昨日変更したばかりです。\n"
    "月末の締めが近いため、ご確認をお願いいたします。\n\n"
    "佐藤 花子\n"
    "経理部 内線 1234",
)
AR_WINDOWS_1256 = (
    "تعذّر الاتصال بالطابعة في الطابق الثالث",
    "أحمد المنصوري",
    "مرحباً،\n\n"
    'الطابعة في الطابق الثالث لا تستجيب منذ صباح اليوم، وتظهر رسالة "غير متصلة".\n'
    "جرّبت إعادة تشغيلها دون فائدة.\n\n"
    "مع الشكر،\n"
    "أحمد المنصوري",
)
FA_UTF8 = (
    "نمی\u200cتوانم به وی\u200cپی\u200cان شرکت وصل شوم",
    "مریم رضایی",
    "سلام،\n\n"
    "از دیروز نمی\u200cتوانم به وی\u200cپی\u200cان شرکت وصل شوم و پیام «خطای احراز هویت» "
    "نمایش داده می\u200cشود.\n"
    "رمز عبورم را هم عوض کردم ولی مشکل برطرف نشد.\n\n"
    "با سپاس،\n"
    "مریم رضایی",
)

_EXACT_SENDERS = {
    "iso_2022_jp_7bit.eml": "hanako.sato@example.co.jp",
    "euc_jp_8bit.eml": "suzuki@dev.example.jp",
    "shift_jis_cp932_extensions.eml": "tanaka@yamada-shoji.example.jp",
    "iso_2022_jp_outlook_nec_specials.eml": "takahashi@tempo-shoji.example.jp",
    "windows_1256_outlook_qp.eml": "ahmed.almansouri@example.ae",
    "utf8_persian_gmail_base64.eml": "maryam.rezaei@example.ir",
    "utf8_arabic_apple_qp.eml": "fatima@example.sa",
}

# file: (subject, sender's name, the whole text), each exactly as a reader must see it
EXACT: dict[str, tuple[str, str, str]] = {
    "iso_2022_jp_7bit.eml": JA_ISO_2022_JP,
    "euc_jp_8bit.eml": (
        "共有フォルダの容量について",
        "鈴木 一郎",
        "情報システム部 御中\n\n"
        "開発部の鈴木です。\n"
        "共有フォルダ「設計資料」の空き容量が残り５％になりました。\n"
        "容量の追加をお願いできますでしょうか。\n\n"
        "鈴木 一郎",
    ),
    "shift_jis_cp932_extensions.eml": (
        "①請求書の記載内容について",
        "",
        "お世話になっております。㈱山田商事の田中です。\n"
        "以下の２点についてご確認ください。\n"
        "①請求書の宛名が旧社名のままです。\n"
        # CP932 reads 0x8160 as U+FF5E (fullwidth tilde), as Windows wrote it.
        "②支払期日が１０日\uff5e１５日で重複しています。\n\n"
        "田中",
    ),
    "iso_2022_jp_outlook_nec_specials.eml": (
        "①会議室予約システムの不具合",
        "高橋 健太",
        "情報システム部 御中\n\n"
        "お疲れ様です。㈱テンポ商事 総務部の高橋です。\n"
        "会議室予約システムで、以下の不具合が発生しています。\n"
        "①第Ⅲ会議室が予約一覧に表示されません。\n"
        "②予約時間が３０分ずれて登録されます。\n\n"
        "高橋",
    ),
    "windows_1256_outlook_qp.eml": AR_WINDOWS_1256,
    "utf8_persian_gmail_base64.eml": FA_UTF8,
    "utf8_arabic_apple_qp.eml": (
        "طلب صلاحية الوصول إلى نظام الموارد البشرية",
        "فاطمة الزهراء",
        "السلام عليكم،\n\n"
        "أرجو منحي صلاحية الوصول إلى نظام الموارد البشرية اعتباراً من يوم الأحد.\n"
        "رقمي الوظيفي: 48213\n\n"
        "فاطمة الزهراء",
    ),
}
for _name, (_subject, _, _text) in EXACT.items():
    EXPECTED[_name] = (_EXACT_SENDERS[_name], _subject, _text, [])


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


@pytest.mark.parametrize("name", sorted(EXACT))
def test_japanese_arabic_and_persian_mail_reads_exactly_as_written(name: str) -> None:
    subject, sender_name, text = EXACT[name]
    parsed = parse((CORPUS / name).read_bytes(), "desk.example")
    assert parsed.subject == subject
    assert parsed.sender_name == sender_name
    assert parsed.text == text
    assert parsed.reply == text


def test_the_rtl_html_part_is_kept_and_its_text_matches_the_plain_part() -> None:
    for name in ("windows_1256_outlook_qp.eml", "utf8_persian_gmail_base64.eml"):
        parsed = parse((CORPUS / name).read_bytes(), "desk.example")
        assert parsed.html is not None and 'dir="rtl"' in parsed.html
        assert html_to_text(parsed.html).split() == parsed.text.split()


def test_the_desk_s_persian_and_arabic_reply_prefixes_are_cut_from_a_subject() -> None:
    for prefix in ("پاسخ: ", "رد: ", "Re: رد: ", "AW: "):
        raw = (
            "From: a@b.example\r\nMessage-ID: <p@b.example>\r\n"
            f"Subject: =?utf-8?B?{base64.b64encode((prefix + 'چاپگر').encode()).decode()}?="
            "\r\n\r\nx\r\n"
        ).encode()
        assert parse(raw, "desk.example").clean_subject == "چاپگر"
