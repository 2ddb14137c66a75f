"""Ticket search with 100,000 tickets in Japanese, Persian, Arabic and English: p95
through the API, and the cost of tokenising a ticket on the write path.

    python bench/bench_search.py [--tickets 100000] [--queries 600]

One run starts the embedded stack in a temporary data folder on free ports, as
bench/bench_tickets.py does (PostgreSQL from `pgserver` with every migration,
the Temporal dev server, the real `python -P -m tempodesk api`; no worker: search
reads PostgreSQL only). It then

1. generates the tickets (a quarter in each language, subjects and descriptions
   built from service-desk sentences and words, Arabic and Persian text partly
   written with harakat, tatweel, ZWNJ and the other letter forms) and measures
   `models.search.document` on them: the time the projection activity spends
   tokenising one ticket's subject and description, per language;
2. inserts them straight into `tickets` with COPY, the `search` vector being that
   document, then VACUUM ANALYZE (what autovacuum does after a bulk load);
3. sends `--queries` searches, one at a time after a warm-up, as an agent who sees
   every ticket: GET /api/v1/tickets?q=… with the API's default page (25, newest
   first). Queries are words and phrases a person would type, in each language
   and in other letter forms, a serial number that occurs once, a ticket number
   and a word that occurs nowhere; p50/p95/p99 overall and per kind.

It prints a Markdown table and appends the raw figures to
bench/results/search-<date>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
sys.path[:0] = [str(ROOT), str(BENCH_DIR)]

from bench_tickets import (  # noqa: E402
    Stack,
    append_run,
    log,
    machine,
    parse_args,
    percentile,
    wait_healthy,
)
from ja_corpus import SENTENCES as JA_SENTENCES  # noqa: E402

from models.search import document  # noqa: E402
from tempodesk.embedded import free_port  # noqa: E402

TARGET_P95_MS = 50.0

EN_WORDS = (  # noqa: SIM905 - reads as text, one word after another
    "printer laptop outlook mailbox password reset vpn connection server backup database "
    "invoice monitor keyboard mouse network wifi router firewall license software update "
    "install crash error timeout slow disk full memory screen black blue calendar meeting "
    "room projector phone headset account locked access denied share folder permission "
    "certificate expired browser portal payroll report export import sync mobile tablet "
    "camera microphone audio video teams zoom jira ticket request order replacement broken "
    "cable dock charger battery login fails after since morning yesterday urgent please "
    "help cannot open print scan send receive attachment large file upload download"
).split()
FA_WORDS = (  # noqa: SIM905 - reads as text, one word after another
    "چاپگر لپ‌تاپ رایانه ایمیل گذرواژه شبکه اینترنت سرور پشتیبان پایگاه‌داده صورتحساب "
    "نمایشگر صفحه‌کلید ماوس اتصال بی‌سیم مسیریاب دیوارآتش مجوز نرم‌افزار به‌روزرسانی نصب "
    "خطا کند دیسک پر حافظه صفحه سیاه تقویم جلسه اتاق پروژکتور تلفن هدست حساب قفل دسترسی "
    "پوشه گواهی منقضی مرورگر درگاه حقوق گزارش همگام‌سازی موبایل دوربین میکروفون صدا "
    "تصویر درخواست سفارش خراب کابل شارژر باتری ورود فوری لطفا کمک نمی‌شود نمی‌کند "
    "می‌خواهم کار امروز دیروز صبح فایل پیوست بزرگ بارگذاری دریافت ارسال کیبورد"
).split()
AR_WORDS = (  # noqa: SIM905 - reads as text, one word after another
    "طابعة حاسوب محمول بريد كلمة المرور الشبكة الإنترنت الخادم نسخة احتياطية قاعدة "
    "البيانات فاتورة شاشة لوحة المفاتيح فأرة اتصال لاسلكي موجه جدار الحماية ترخيص "
    "البرنامج تحديث تثبيت خطأ بطيء القرص ممتلئ الذاكرة سوداء التقويم اجتماع غرفة جهاز "
    "العرض هاتف سماعة حساب مقفل الوصول مرفوض مجلد شهادة منتهية المتصفح البوابة الرواتب "
    "تقرير مزامنة الجوال كاميرا ميكروفون الصوت الفيديو طلب استبدال مكسور كابل شاحن "
    "بطارية الدخول عاجل من فضلك مساعدة لا يعمل لا تعمل منذ الصباح أمس ملف مرفق كبير "
    "تحميل إرسال استلام المستشفى مشكلة الطابعة مدرسة الموظفين"
).split()

_HARAKAT = "\u064e\u064f\u0650\u0651\u0652"
_PERSIAN_FORMS = str.maketrans({"ي": "ی", "ك": "ک", "ى": "ی", "ة": "ه"})
_ARABIC_FORMS = str.maketrans({"ی": "ي", "ک": "ك"})


def _decorate(rng: random.Random, word: str) -> str:
    """Arabic-script text as people write it: sometimes with harakat or tatweel."""
    roll = rng.random()
    if roll < 0.1:
        return "".join(c + (rng.choice(_HARAKAT) if c.isalpha() else "") for c in word)
    if roll < 0.15 and len(word) > 3:
        return word[:2] + "ـــ" + word[2:]
    return word


def _serial(i: int) -> str:
    return f"SN{i * 7919 % 1_000_003:07d}"


def ticket_text(rng: random.Random, i: int, language: str) -> tuple[str, str]:
    """Subject and description of generated ticket `i`; every ticket carries a serial
    number that occurs in it only."""
    serial = _serial(i)
    if language == "ja":
        sentences = [s for s, _ in JA_SENTENCES]
        subject = rng.choice(sentences).rstrip("。")
        body = "".join(rng.choices(sentences, k=rng.randint(2, 6)))
        return subject[:190], f"{body}シリアル番号{serial}。"
    if language == "en":
        words = EN_WORDS
        subject = " ".join(rng.choices(words, k=rng.randint(3, 8))).capitalize()
        body = ". ".join(
            " ".join(rng.choices(words, k=rng.randint(6, 14))).capitalize()
            for _ in range(rng.randint(2, 6))
        )
        return subject, f"{body}. Serial {serial}."
    words = FA_WORDS if language == "fa" else AR_WORDS
    subject = " ".join(_decorate(rng, w) for w in rng.choices(words, k=rng.randint(3, 8)))
    body = " ".join(_decorate(rng, w) for w in rng.choices(words, k=rng.randint(15, 60)))
    return subject, f"{body} {serial}"


LANGUAGES = ("ja", "fa", "ar", "en")


def queries(rng: random.Random, count: int, tickets: int, numbers: range) -> list[tuple[str, str]]:
    """(kind, text) pairs as people type them."""
    ja_words = [w for _, words in JA_SENTENCES for w in words]
    makers: dict[str, Callable[[], str]] = {
        "ja word": lambda: rng.choice(ja_words),
        "ja two words": lambda: f"{rng.choice(ja_words)} {rng.choice(ja_words)}",
        "fa word, Arabic letters": lambda: rng.choice(FA_WORDS).translate(_ARABIC_FORMS),
        "fa word without ZWNJ": lambda: rng.choice([w for w in FA_WORDS if "\u200c" in w]).replace(
            "\u200c", ""
        ),
        "ar word, Persian letters": lambda: rng.choice(AR_WORDS).translate(_PERSIAN_FORMS),
        "ar two words": lambda: f"{rng.choice(AR_WORDS)} {rng.choice(AR_WORDS)}",
        "en word": lambda: rng.choice(EN_WORDS),
        "en two words": lambda: f"{rng.choice(EN_WORDS)} {rng.choice(EN_WORDS)}",
        "en phrase": lambda: f'"{rng.choice(EN_WORDS)} {rng.choice(EN_WORDS)}"',
        "serial number": lambda: _serial(rng.randrange(tickets)),
        "ticket number": lambda: f"#{rng.choice(numbers)}",
        "no such word": lambda: f"zq{uuid.uuid4().hex[:8]}",
    }
    kinds = list(makers)
    return [(kind, makers[kind]()) for kind in (rng.choice(kinds) for _ in range(count))]


def tokenising_cost(texts: dict[str, list[tuple[str, str]]]) -> dict[str, Any]:
    """Microseconds `document` takes per ticket, per language (median of 5 passes), and
    the size of what it writes."""
    result: dict[str, Any] = {}
    for language, items in texts.items():
        runs = []
        for _ in range(5):
            start = time.perf_counter()
            for subject, description in items:
                document(subject, description)
            runs.append((time.perf_counter() - start) / len(items) * 1e6)
        literals = [document(s, d) for s, d in items[:2000]]
        result[language] = {
            "us_per_ticket": round(statistics.median(runs), 1),
            "chars_per_ticket": round(statistics.mean(len(s) + len(d) for s, d in items), 0),
            "literal_bytes": round(statistics.mean(len(x.encode()) for x in literals), 0),
        }
    return result


COPY_COLUMNS = (
    "id, seq, type, status, channel, subject, description, impact, urgency, priority, "
    "created_at, updated_at, search"
)


def insert_tickets(dsn: str, count: int, seed: int) -> tuple[dict[str, Any], range, float]:
    rng = random.Random(seed)
    now = datetime.now(UTC)
    texts: dict[str, list[tuple[str, str]]] = {language: [] for language in LANGUAGES}
    rows = []
    tokenise_seconds = 0.0
    for i in range(count):
        language = LANGUAGES[i % len(LANGUAGES)]
        subject, description = ticket_text(rng, i, language)
        texts[language].append((subject, description))
        t0 = time.perf_counter()
        vector = document(subject, description)
        tokenise_seconds += time.perf_counter() - t0
        at = now - timedelta(minutes=count - i)
        status = rng.choice(("new", "open", "pending", "resolved", "closed"))
        rows.append(
            (
                f"ticket-{uuid.uuid4().hex}",
                1,
                "incident",
                status,
                "portal",
                subject,
                description,
                2,
                2,
                3,
                at,
                at,
                vector,
            )
        )
    start = time.perf_counter()
    with psycopg.connect(dsn, autocommit=True) as conn:
        with conn.cursor() as cur, cur.copy(f"COPY tickets ({COPY_COLUMNS}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        first, last = conn.execute("SELECT min(number), max(number) FROM tickets").fetchone()  # type: ignore[misc]
        conn.execute("VACUUM ANALYZE tickets")
        size = conn.execute(
            "SELECT pg_relation_size('ix_tickets_search'), pg_total_relation_size('tickets')"
        ).fetchone()
    load_seconds = time.perf_counter() - start
    log(f"{count} tickets inserted in {load_seconds:.1f} s; tokenised in {tokenise_seconds:.1f} s")
    cost = tokenising_cost(texts)
    cost["index_mib"] = round(size[0] / 2**20, 1) if size else None
    cost["table_mib"] = round(size[1] / 2**20, 1) if size else None
    return cost, range(first, last + 1), load_seconds


async def search(
    port: int, token: str, items: list[tuple[str, str]], warmup: int
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    by_kind: dict[str, list[float]] = {}
    hits: dict[str, list[int]] = {}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers=headers) as http:
        for n, (kind, q) in enumerate(items):
            t0 = time.perf_counter()
            response = await http.get("/api/v1/tickets", params={"q": q})
            elapsed = time.perf_counter() - t0
            if response.status_code != 200:
                raise SystemExit(f"{q!r}: {response.status_code} {response.text}")
            if n >= warmup:
                by_kind.setdefault(kind, []).append(elapsed)
                hits.setdefault(kind, []).append(len(response.json()["items"]))
    every = sorted(x for values in by_kind.values() for x in values)

    def figures(values: list[float]) -> dict[str, float]:
        ordered = sorted(values)
        return {
            "n": len(ordered),
            "p50_ms": round(percentile(ordered, 0.50) * 1000, 1),
            "p95_ms": round(percentile(ordered, 0.95) * 1000, 1),
            "p99_ms": round(percentile(ordered, 0.99) * 1000, 1),
        }

    return {
        "all": figures(every),
        "kinds": {
            kind: {**figures(values), "mean_hits": round(statistics.mean(hits[kind]), 1)}
            for kind, values in sorted(by_kind.items())
        },
    }


def markdown(report: dict[str, Any]) -> str:
    s = report["search"]
    lines = [
        f"{report['tickets']} tickets, {s['all']['n']} searches: p50 {s['all']['p50_ms']} ms, "
        f"p95 {s['all']['p95_ms']} ms (target < {TARGET_P95_MS:.0f}), p99 {s['all']['p99_ms']} ms; "
        f"load average {s['load_average'][0]} before, {s['load_average'][1]} after",
        "",
        "| query | n | p50 ms | p95 ms | p99 ms | tickets on the page (mean) |",
        "|---|---|---|---|---|---|",
    ]
    for kind, f in s["kinds"].items():
        lines.append(
            f"| {kind} | {f['n']} | {f['p50_ms']} | {f['p95_ms']} | {f['p99_ms']} "
            f"| {f['mean_hits']} |"
        )
    t = report["tokenising"]
    lines += [
        "",
        "| language | µs per ticket | characters per ticket | tsvector literal bytes |",
        "|---|---|---|---|",
    ]
    for language in LANGUAGES:
        f = t[language]
        lines.append(
            f"| {language} | {f['us_per_ticket']} | {f['chars_per_ticket']:.0f} "
            f"| {f['literal_bytes']:.0f} |"
        )
    lines.append(f"\nGIN index {t['index_mib']} MiB, table with TOAST {t['table_mib']} MiB")
    return "\n".join(lines)


def main() -> int:
    own = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    own.add_argument("--tickets", type=int, default=100_000)
    own.add_argument("--queries", type=int, default=600)
    own.add_argument("--warmup", type=int, default=60)
    own.add_argument("--seed", type=int, default=11)
    own.add_argument("--out", type=Path, default=None)
    args = own.parse_args()
    home = Path(tempfile.mkdtemp(prefix="tempodesk-bench-search-"))
    stack = Stack(home, parse_args([]))
    started = datetime.now(UTC)
    try:
        log(f"data folder {home}")
        stack.start_infra()
        dsn = stack.database_url.replace("postgresql+psycopg://", "postgresql://")
        cost, numbers, load_seconds = insert_tickets(dsn, args.tickets, args.seed)
        stack.api_port = free_port()
        api = stack.spawn("api", [sys.executable, "-P", "-m", "tempodesk", "api"], stack.api_port)
        wait_healthy(api, stack.api_port)
        items = queries(random.Random(args.seed), args.queries + args.warmup, args.tickets, numbers)
        load_before = os.getloadavg()[0]
        result = asyncio.run(search(stack.api_port, stack.token, items, args.warmup))
        # Other work on the machine slows every query: a run under load is not comparable.
        result["load_average"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    finally:
        stack.stop()
    report = {
        "started": started.isoformat(),
        "machine": machine(),
        "tickets": args.tickets,
        "load_seconds": round(load_seconds, 1),
        "tokenising": cost,
        "search": result,
        "command": "python bench/bench_search.py " + " ".join(sys.argv[1:]),
    }
    print(markdown(report))
    out = args.out or BENCH_DIR / "results" / f"search-{started:%Y-%m-%d}.json"
    append_run(out, report)
    return 0 if result["all"]["p95_ms"] < TARGET_P95_MS else 1


if __name__ == "__main__":
    raise SystemExit(main())
