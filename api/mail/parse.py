"""Reading a received message: who wrote it, to whom, what it says, what it carries.

The stdlib `email` package with `policy.default` parses the MIME structure and
decodes headers and charsets; `mailparser_reply` cuts quoted history and
signatures from what a reply displays; `tnefparse` opens winmail.dat; `nh3`
sanitises HTML. Nothing here does I/O, so every case is a plain unit test.
"""

from __future__ import annotations

import hashlib
import html
import mimetypes
import re
from dataclasses import dataclass, field
from email import policy
from email.errors import HeaderParseError
from email.header import decode_header
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.policy import compat32
from email.utils import getaddresses, parseaddr

import nh3
from mailparser_reply import EmailReplyParser

from api.text import sanitise

TAG = re.compile(r"\[TD#(\d{1,18})\]")
"""The ticket tag the desk puts in every subject it sends, e.g. `[TD#1234]`."""

# The desk's own reply prefixes are among them (AW, رد, پاسخ), so an answer to its mail
# that lost the tag still opens a ticket under the plain subject.
_PREFIXES = re.compile(
    r"^\s*((re|aw|sv|wg|fw|fwd|tr|antw|rv|vs|رد|پاسخ)\s*(\[\d+\])?\s*:\s*)+", re.I
)
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")
# mail-parser-reply (1.36, the newest) knows no Persian or Arabic "... wrote:" lines; their
# quotes are still cut where they are `>`-quoted (`_without_trailing_quote`).
_REPLY_LANGUAGES = ["en", "de", "fr", "es", "it", "nl", "pl", "sv", "ja"]
_CP932_LABELS = frozenset({"shift_jis", "shift-jis", "sjis", "x-sjis", "ms_kanji"})
"""Outlook labels CP932 as Shift_JIS, so ①, ㈱ and the NEC/IBM kanji would otherwise
arrive as U+FFFD."""
_JIS_X_0208 = b"\x1b$B"
_JIS_X_0213 = b"\x1b$(Q"


def _decode(payload: bytes, charset: str) -> str:
    """Bytes in a charset, strictly; where the label is narrower than what Windows mailers
    write in it, the wider charset; U+FFFD for what still does not decode.

    The wider reading is tried only when the labelled charset fails, so correctly
    labelled text decodes exactly as before.
    """
    try:
        return payload.decode(charset)
    except LookupError:  # an unknown charset name ("unknown-8bit", "x-user-defined")
        return payload.decode("utf-8", errors="replace")
    except UnicodeDecodeError:
        pass
    try:
        if charset in _CP932_LABELS:
            return payload.decode("cp932")
        if charset == "iso-2022-jp":
            # Outlook's ISO-2022-JP (CP50220) puts NEC's row 13 (①, ㈱, Ⅲ) under the
            # JIS X 0208 escape. JIS X 0213 plane 1 decodes every JIS X 0208 character
            # exactly as JIS X 0208 does and has those in row 13, so re-designating
            # reads them; the stdlib has no CP50220 codec.
            return payload.replace(_JIS_X_0208, _JIS_X_0213).decode("iso2022_jp_2004")
    except UnicodeDecodeError:
        pass
    return payload.decode(charset, errors="replace")


_BLOCK_END = re.compile(r"(?i)<\s*(br|/p|/div|/tr|/li|/h[1-6])\b[^>]*>")


class ParseError(Exception):
    """The message cannot be read well enough to act on; it goes to quarantine."""


@dataclass
class Part:
    filename: str
    content_type: str
    data: bytes
    inline: bool = False


@dataclass
class ParsedMail:
    message_id: str
    in_reply_to: list[str]
    references: list[str]
    subject: str
    sender: str
    sender_name: str
    to: list[str]
    cc: list[str]
    text: str
    """The whole text, from the plain part or converted from the HTML part."""
    html: str | None
    """The HTML part, sanitised."""
    reply: str
    """What the writer added: quoted history and signature cut off."""
    attachments: list[Part] = field(default_factory=list)
    automatic: str | None = None
    """Why this is machine-sent mail the desk must not answer, or None for a person's."""
    bounced: list[tuple[str, str]] = field(default_factory=list)
    """A delivery status notification: (recipient, diagnostic) of each failed delivery."""

    @property
    def tag(self) -> int | None:
        found = TAG.search(self.subject)
        return int(found.group(1)) if found else None

    @property
    def clean_subject(self) -> str:
        """The subject without reply prefixes and the ticket tag."""
        subject = TAG.sub("", self.subject)
        return " ".join(_PREFIXES.sub("", subject).split())


def read_message(raw: bytes) -> EmailMessage:
    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    return message


def message_id_of(raw: bytes) -> str:
    """The Message-ID to deduplicate on; one made from the content when the header is absent."""
    try:
        headers = BytesParser(policy=policy.default).parsebytes(raw, headersonly=True)
        found = _MESSAGE_ID.search(str(headers.get("Message-ID", "") or ""))
    except Exception:  # a header so broken it cannot be read: fall back to the content
        found = None
    if found:
        return found.group(0)[:998]
    return f"<{hashlib.sha256(raw).hexdigest()}@no-message-id>"


_IDS_KEPT = 50
"""References of a long thread: the newest are the ones a reply is likely to match."""


def _ids(value: object) -> list[str]:
    return [i[:998] for i in _MESSAGE_ID.findall(str(value or ""))[-_IDS_KEPT:]]


def _addresses(message: Message, name: str) -> list[str]:
    values = [str(v) for v in message.get_all(name, [])]
    return [addr.lower() for _, addr in getaddresses(values) if "@" in addr]


def _text_of(part: Message) -> str:
    """A text part decoded by its charset, surviving the usual mislabels."""
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = (part.get_content_charset() or "utf-8").lower()
    # Mail clients label windows-1252 text as iso-8859-1 all the time; 1252 is
    # a superset for the printable range, so reading it that way loses nothing.
    if charset in ("iso-8859-1", "latin-1", "latin1", "us-ascii", "ascii"):
        charset = "windows-1252"
    return _decode(payload, charset)


def _subject(message: Message, raw: bytes) -> str:
    """The decoded subject; encoded words the stdlib could not decode (it leaves them as
    they are, or with U+FFFD) are read again with `_decode`, so a CP932 or Outlook
    ISO-2022-JP subject keeps its ①."""
    subject = str(message.get("Subject", "") or "")
    if "\ufffd" not in subject and "=?" not in subject:
        return subject
    original = BytesParser(policy=compat32).parsebytes(raw, headersonly=True)["Subject"]
    if not isinstance(original, str):
        return subject
    try:
        words = decode_header(original)
    except HeaderParseError:
        return subject
    return "".join(
        _decode(text, (charset or "us-ascii").lower()) if isinstance(text, bytes) else text
        for text, charset in words
    )


def html_to_text(markup: str) -> str:
    """Readable text of an HTML body: block ends become line breaks, tags go."""
    marked = _BLOCK_END.sub("\n", markup)
    stripped = nh3.clean(marked, tags=set(), clean_content_tags={"script", "style", "head"})
    lines = (line.strip() for line in html.unescape(stripped).splitlines())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def automatic_reason(message: Message, own_domain: str) -> str | None:
    """Why a message is an auto-reply, a bounce, list mail or our own, or None (RFC 3834)."""
    auto = str(message.get("Auto-Submitted", "") or "").strip().lower()
    if auto and not auto.startswith("no"):
        return f"auto-submitted ({auto})"
    for name in ("X-Autoreply", "X-Autorespond", "X-Autorespond-Type"):
        if message.get(name) is not None:
            return f"auto-reply ({name})"
    precedence = str(message.get("Precedence", "") or "").strip().lower()
    if precedence in ("bulk", "list", "junk", "auto_reply"):
        return f"precedence {precedence}"
    if message.get_content_type() == "multipart/report":
        return "delivery status notification"
    if message.get("List-Id") is not None:
        return "mailing list (List-Id)"
    message_id = " ".join(_ids(message.get("Message-ID")))
    if message_id.endswith(f"@{own_domain}>") and message_id.startswith("<td."):
        return "the desk's own message came back"
    return None


def bounced_recipients(message: Message) -> list[tuple[str, str]]:
    """Failed recipients of a delivery status notification (RFC 3464)."""
    failed: list[tuple[str, str]] = []
    for part in message.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        for block in part.get_payload():
            if not isinstance(block, Message):
                continue
            action = str(block.get("Action", "") or "").strip().lower()
            recipient = str(block.get("Final-Recipient", "") or block.get("Original-Recipient", ""))
            if action not in ("failed", "") or not recipient:
                continue
            address = recipient.split(";", 1)[-1].strip().strip("<>").lower()
            diagnostic = str(block.get("Diagnostic-Code", "") or block.get("Status", "") or "")
            failed.append((address, " ".join(diagnostic.split())[:500]))
    return failed


def _tnef_parts(data: bytes) -> list[Part]:
    """The files inside a winmail.dat (Outlook's TNEF wrapper); none when it cannot be read."""
    from tnefparse import TNEF  # only winmail.dat needs it

    try:
        tnef = TNEF(data)
    except Exception:  # a damaged winmail.dat is kept as the file it is
        return []
    parts = []
    for attachment in tnef.attachments:
        name = attachment.long_filename() or attachment.name or "attachment"
        if isinstance(name, bytes):
            name = name.decode("utf-8", errors="replace")
        name = str(name).strip("\x00")
        guessed = mimetypes.guess_type(name)[0] or "application/octet-stream"
        parts.append(Part(name, guessed, attachment.data))
    return parts


def _attachments(message: EmailMessage) -> list[Part]:
    parts: list[Part] = []
    for part in message.walk():
        if part.is_multipart() and part.get_content_type() != "message/rfc822":
            continue
        disposition = part.get_content_disposition()
        content_type = part.get_content_type()
        filename = part.get_filename()
        if content_type == "message/rfc822":
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                subject = str(inner[0].get("Subject", "") or "forwarded message")
                forwarded = inner[0].as_bytes(policy=policy.SMTP)
                parts.append(Part(f"{subject[:100]}.eml", content_type, forwarded))
            continue
        if filename is None and disposition != "attachment":
            # A body part, or an inline image without a name.
            if content_type.startswith("image/") and part.get("Content-ID"):
                data = part.get_payload(decode=True)
                if isinstance(data, bytes) and data:
                    ext = content_type.split("/", 1)[1]
                    parts.append(Part(f"inline.{ext}", content_type, data, inline=True))
            continue
        data = part.get_payload(decode=True)
        if not isinstance(data, bytes) or not data:
            continue
        name = filename or "attachment"
        if content_type == "application/ms-tnef" or name.lower() == "winmail.dat":
            inner_parts = _tnef_parts(data)
            if inner_parts:
                parts.extend(inner_parts)
                continue
        parts.append(Part(name, content_type, data, inline=disposition == "inline"))
    return parts


def _body(message: EmailMessage, kind: str) -> Message | None:
    body = message.get_body(preferencelist=(kind,))
    if body is None or body.get_content_type() != f"text/{kind}":
        return None
    return body


def _without_trailing_quote(text: str) -> str:
    """Cut a quoted block that ends the message without a "... wrote:" line above it."""
    lines = text.rstrip().splitlines()
    end = len(lines)
    while end > 0 and (lines[end - 1].startswith(">") or not lines[end - 1].strip()):
        end -= 1
    kept = "\n".join(lines[:end]).strip()
    return kept or text.strip()


def parse(raw: bytes, own_domain: str) -> ParsedMail:
    """Everything the desk needs from a message. Raises ParseError when it cannot act on it."""
    try:
        message = read_message(raw)
        sender_name, sender = parseaddr(str(message.get("From", "") or ""))
    except Exception as exc:
        raise ParseError(f"the message headers cannot be read: {exc}") from exc
    sender = sender.strip().lower()
    if not sender or "@" not in sender or sender.startswith("@") or sender.endswith("@"):
        raw_from = str(message.get("From", "") or "").strip() or "missing"
        raise ParseError(f"the From header has no usable address ({raw_from[:200]!r})")
    if (
        message.defects
        and not message.is_multipart()
        and message.get_content_maintype() == "multipart"
    ):
        raise ParseError(
            "the message says it is multipart but has no readable parts "
            f"({', '.join(type(d).__name__ for d in message.defects)})"
        )
    try:
        plain = _body(message, "plain")
        rich = _body(message, "html")
        html_body = _text_of(rich) if rich is not None else None
        if plain is not None:
            text = _text_of(plain)
        elif html_body is not None:
            text = html_to_text(html_body)
        else:
            text = ""
        attachments = _attachments(message)
    except Exception as exc:
        raise ParseError(f"the message body cannot be read: {exc}") from exc
    text = text.replace("\r\n", "\n").replace("\x00", "")
    reply = ""
    try:
        replies = EmailReplyParser(languages=_REPLY_LANGUAGES).read(text=text).replies
        reply = replies[0].body.strip() if replies else ""
    except Exception:  # the quote cutter is a nicety; the whole text still shows
        reply = ""
    reply = _without_trailing_quote(reply)
    automatic = automatic_reason(message, own_domain)
    return ParsedMail(
        message_id=message_id_of(raw),
        in_reply_to=_ids(message.get("In-Reply-To")),
        references=_ids(message.get("References")),
        # PostgreSQL text cannot hold NUL, which an encoded word can smuggle in.
        subject=" ".join(_subject(message, raw).replace("\x00", "").split()),
        sender=sender,
        sender_name=sender_name.replace("\x00", "").strip(),
        to=_addresses(message, "To"),
        cc=_addresses(message, "Cc"),
        text=text.strip(),
        html=sanitise(html_body) if html_body is not None else None,
        reply=reply or text.strip(),
        attachments=attachments,
        automatic=automatic,
        bounced=bounced_recipients(message) if automatic else [],
    )
