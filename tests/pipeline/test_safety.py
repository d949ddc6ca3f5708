"""PII flags with spans, spam scoring and redaction."""

from __future__ import annotations

import pytest

from core.personal_data import find as find_flags
from core.personal_data import mask as redact
from core.personal_data import plausible_nik
from pipeline.safety import is_spam, spam_reasons, spam_score


def kinds(text: str) -> list[tuple[str, str]]:
    return [(f.kind, f.text) for f in find_flags(text)]


@pytest.mark.parametrize(
    "phone",
    [
        "081234567890",
        "0812-3456-7890",
        "0812 3456 7890",
        "+62 812 3456 7890",
        "+6281234567890",
        "6281234567890",
        "+62-812-3456-789",
        "0852.3912.345",
        "(0380) 821234",
    ],
)
def test_phone_numbers(phone: str) -> None:
    text = f"Hubungi saya di {phone}, terima kasih"
    flags = find_flags(text)
    assert [(f.kind, f.text) for f in flags] == [("phone", phone)]
    assert text[flags[0].start : flags[0].end] == phone


def test_not_phone_numbers() -> None:
    assert kinds("Air naik 50 cm jam 17.30, tahun 2021, Rp 150.000") == []
    assert kinds("Rumah nomor 12, RT 003/RW 002") == []


def test_nik_with_plausibility() -> None:
    assert plausible_nik("5371041208900003")  # NTT (53), Kota Kupang (71), born 12-08-90
    assert plausible_nik("5371045208900003")  # a woman: day + 40
    assert not plausible_nik("9971041208900003")  # no province 99
    assert not plausible_nik("5371041213900003")  # month 13
    assert not plausible_nik("5371043208900003")  # day 32
    assert not plausible_nik("5371041208900000")  # serial 0000
    assert kinds("NIK saya 5371041208900003 ya") == [("nik", "5371041208900003")]
    assert kinds("kode 1234567890123456") == []  # 16 digits, not a NIK, not a phone


def test_email_and_links() -> None:
    text = (
        "Kirim ke maria.ndun@gmail.com atau lihat https://kupang.go.id/berita?id=3. Juga bit.ly/abc"
    )
    assert kinds(text) == [
        ("email", "maria.ndun@gmail.com"),
        ("link", "https://kupang.go.id/berita?id=3"),
        ("link", "bit.ly/abc"),
    ]
    assert kinds("www.example.org, ok") == [("link", "www.example.org")]


def test_redact_masks_pii() -> None:
    text = "WA 0812-3456-7890, NIK 5371041208900003, email a@b.id"
    assert redact(text) == "WA [nomor HP], NIK [NIK], email [email]"
    assert redact(text, kinds=()) == text


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Jual rumput laut kering, harga grosir, minat hubungi WA 0812-3456-7890", "selling"),
        ("Dijual motor Vario 2019 mulus. Nego tipis.", "selling"),
        ("Jual pulsa dan paket data murah, semua operator", "selling"),
        ("Pinjaman online cair 5 menit tanpa jaminan, bunga rendah", "loan"),
        ("Sebarkan pesan ini ke 10 grup WA, kalau tidak nanti sial 7 tahun", "chain"),
        ("Berita ini harus viral!!! sebarkan ke semua keluarga", "chain"),
        ("Klaim hadiah Rp 10 juta dari undian bank sekarang!", "giveaway"),
        ("Investasi crypto untung 300% per bulan, slot terbatas", "crypto"),
        ("Info lowongan kerja di hotel, kirim CV ke email", "job_ad"),
    ],
)
def test_spam(text: str, reason: str) -> None:
    assert is_spam(text)
    assert reason in spam_reasons(text)
    assert 0.6 <= spam_score(text) <= 1.0


@pytest.mark.parametrize(
    "text",
    [
        "Mama-mama di Oesapa olah ikan jadi abon, jual di pasar",
        "Harga ikan di pasar naik dua kali lipat",
        "Hati-hati penipuan, jangan kasih OTP ke siapa pun",
        "Tolong share cerita ini ke pemerintah supaya talud dibangun",
        "Rob masuk rumah di Namosain, hubungi saya 081234567890 kalau mau wawancara",
    ],
)
def test_stories_are_not_spam(text: str) -> None:
    assert not is_spam(text)


def test_redact_in_english() -> None:
    assert redact("WA 081234567890", lang="en") == "WA [phone number]"


def test_every_mask_exists_in_both_languages() -> None:
    from core.i18n import catalog
    from core.personal_data import MASKED_KINDS

    for lang in ("id", "en"):
        assert {f"core.mask.{kind}" for kind in MASKED_KINDS} <= set(catalog(lang))
