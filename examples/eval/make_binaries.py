#!/usr/bin/env python3
"""Writes the binary placeholders of examples/eval/workspace with the standard library only.

- scans/receipt-0042.png: a grayscale receipt drawn with a 5x7 bitmap font (readable by OCR);
- scans/form-w9.pdf (4 pages) and scans/report-q3.pdf (3 pages, a ruled table on page 2):
  hand-written PDFs with a text layer in Helvetica;
- dog/dog1.jpg … dog/dog5.jpg: 64x64 grayscale baseline JPEGs (DC-only blocks, custom Huffman tables).

Deterministic: running it again gives the same bytes.  Usage: python3 make_binaries.py [workspace]
"""
import os
import struct
import sys
import zlib

# --------------------------------------------------------------------------------------------
# 5x7 bitmap font (rows top to bottom, 5 bits each, MSB = leftmost column)

FONT = {
    "A": "01110 10001 10001 11111 10001 10001 10001", "B": "11110 10001 10001 11110 10001 10001 11110",
    "C": "01110 10001 10000 10000 10000 10001 01110", "D": "11110 10001 10001 10001 10001 10001 11110",
    "E": "11111 10000 10000 11110 10000 10000 11111", "F": "11111 10000 10000 11110 10000 10000 10000",
    "G": "01110 10001 10000 10111 10001 10001 01111", "H": "10001 10001 10001 11111 10001 10001 10001",
    "I": "01110 00100 00100 00100 00100 00100 01110", "J": "00111 00010 00010 00010 00010 10010 01100",
    "K": "10001 10010 10100 11000 10100 10010 10001", "L": "10000 10000 10000 10000 10000 10000 11111",
    "M": "10001 11011 10101 10101 10001 10001 10001", "N": "10001 11001 10101 10011 10001 10001 10001",
    "O": "01110 10001 10001 10001 10001 10001 01110", "P": "11110 10001 10001 11110 10000 10000 10000",
    "Q": "01110 10001 10001 10001 10101 10010 01101", "R": "11110 10001 10001 11110 10100 10010 10001",
    "S": "01111 10000 10000 01110 00001 00001 11110", "T": "11111 00100 00100 00100 00100 00100 00100",
    "U": "10001 10001 10001 10001 10001 10001 01110", "V": "10001 10001 10001 10001 10001 01010 00100",
    "W": "10001 10001 10001 10101 10101 10101 01010", "X": "10001 10001 01010 00100 01010 10001 10001",
    "Y": "10001 10001 01010 00100 00100 00100 00100", "Z": "11111 00001 00010 00100 01000 10000 11111",
    "0": "01110 10001 10011 10101 11001 10001 01110", "1": "00100 01100 00100 00100 00100 00100 01110",
    "2": "01110 10001 00001 00010 00100 01000 11111", "3": "11111 00010 00100 00010 00001 10001 01110",
    "4": "00010 00110 01010 10010 11111 00010 00010", "5": "11111 10000 11110 00001 00001 10001 01110",
    "6": "00110 01000 10000 11110 10001 10001 01110", "7": "11111 00001 00010 00100 01000 01000 01000",
    "8": "01110 10001 10001 01110 10001 10001 01110", "9": "01110 10001 10001 01111 00001 00010 01100",
    ".": "00000 00000 00000 00000 00000 01100 01100", "-": "00000 00000 00000 11111 00000 00000 00000",
    ":": "00000 01100 01100 00000 01100 01100 00000", "/": "00001 00010 00010 00100 01000 01000 10000",
    "#": "01010 01010 11111 01010 11111 01010 01010", "*": "00000 10101 01110 11111 01110 10101 00000",
    " ": "00000 00000 00000 00000 00000 00000 00000",
}

def _line(left: str, right: str, width: int = 24) -> str:
    return left + right.rjust(width - len(left))


RECEIPT = [
    "NORTHWIND STATION CAFE",
    "HAUPTBAHNHOF BERLIN",
    "RECEIPT # 0042",
    "DATE 2026-11-03 08:14",
    "",
    _line("2 X FLAT WHITE", "7.60"),
    _line("1 X BAGEL", "4.20"),
    _line("1 X WATER", "2.50"),
    "",
    _line("SUBTOTAL", "14.30"),
    _line("INCL VAT 19.0", "2.28"),
    _line("TOTAL EUR", "14.30"),
    _line("PAID CARD", "**** 4821"),
]


def png(width: int, height: int, rows: list[bytes]) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    raw = b"".join(b"\x00" + r for r in rows)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grayscale
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def receipt_png() -> bytes:
    scale, cw, lh, margin = 3, 6, 11, 8
    cols = max(len(line) for line in RECEIPT)
    w = (margin * 2 + cols * cw) * scale
    h = (margin * 2 + len(RECEIPT) * lh) * scale
    px = [[255] * w for _ in range(h)]
    for li, line in enumerate(RECEIPT):
        for ci, ch in enumerate(line):
            rows = FONT[ch].split()
            for ry, bits in enumerate(rows):
                for rx, bit in enumerate(bits):
                    if bit == "1":
                        x0 = (margin + ci * cw + rx) * scale
                        y0 = (margin + li * lh + ry) * scale
                        for yy in range(y0, y0 + scale):
                            for xx in range(x0, x0 + scale):
                                px[yy][xx] = 20
    return png(w, h, [bytes(r) for r in px])


# --------------------------------------------------------------------------------------------
# PDF with a text layer


def pdf(pages: list[list[tuple]], title: str) -> bytes:
    """pages: lists of ('t', x, y, size, text) and ('l', x1, y1, x2, y2) items, US Letter."""
    objs: list[bytes] = []
    n_pages = len(pages)
    # 1 catalog, 2 pages, 3 font, 4 info, then per page: page object and content stream.
    kids = " ".join(f"{5 + 2 * i} 0 R" for i in range(n_pages))
    objs.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objs.append(f"<< /Type /Pages /Kids [{kids}] /Count {n_pages} >>".encode())
    objs.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    objs.append(f"<< /Title ({title}) /Producer (examples/eval/make_binaries.py) >>".encode())
    for i, items in enumerate(pages):
        ops = []
        for it in items:
            if it[0] == "t":
                _, x, y, size, text = it
                esc = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
                ops.append(f"BT /F1 {size} Tf {x} {y} Td ({esc}) Tj ET")
            else:
                _, x1, y1, x2, y2 = it
                ops.append(f"0.5 w {x1} {y1} m {x2} {y2} l S")
        stream = "\n".join(ops).encode("latin-1")
        objs.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
                    f"/Resources << /Font << /F1 3 0 R >> >> /Contents {6 + 2 * i} 0 R >>".encode())
        objs.append(b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream")
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for n, body in enumerate(objs, start=1):
        offsets.append(len(out))
        out += f"{n} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objs) + 1}\n".encode() + b"0000000000 65535 f \n"
    for off in offsets:
        out += f"{off:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R /Info 4 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def text_block(x: int, y: int, lines: list[str], size: int = 10, lead: int = 14) -> list[tuple]:
    return [("t", x, y - i * lead, size, line) for i, line in enumerate(lines)]


def w9_pdf() -> bytes:
    p1 = [("t", 50, 740, 16, "Form W-9  Request for Taxpayer Identification Number and Certification"),
          ("t", 50, 722, 9, "(Rev. March 2024)  Department of the Treasury, Internal Revenue Service  -  sample filled in for the eval workspace")]
    fields = [("1 Name of entity/individual", "Lena Fischer"),
              ("2 Business name/disregarded entity name", "Fischer Data Consulting LLC"),
              ("3a Federal tax classification", "[X] Limited liability company  (C)   [ ] Individual/sole proprietor"),
              ("4 Exemptions: exempt payee code", "(none)"),
              ("5 Address (number, street, and apt. or suite no.)", "1200 Harbor Way, Suite 5"),
              ("6 City, state, and ZIP code", "Oakland, CA 94607"),
              ("7 List account number(s) here (optional)", "NW-CONTRACTOR-0193"),
              ("Part I  Employer identification number", "87-1234567"),
              ("Part II  Signature of U.S. person", "Lena Fischer        Date: 10/30/2026")]
    y = 680
    for label, value in fields:
        p1 += [("t", 50, y, 8, label), ("t", 60, y - 16, 11, value), ("l", 50, y - 22, 560, y - 22)]
        y -= 52
    p2 = [("t", 50, 740, 14, "General Instructions")] + text_block(50, 715, [
        "Section references are to the Internal Revenue Code unless otherwise noted.",
        "Purpose of Form: an individual or entity (Form W-9 requester) who is required to file an",
        "information return with the IRS must obtain your correct taxpayer identification number (TIN).",
        "Use Form W-9 only if you are a U.S. person (including a resident alien) to provide your correct TIN.",
        "",
        "Backup withholding: persons making certain payments to you must under certain conditions",
        "withhold and pay to the IRS 24% of such payments. This is called backup withholding."])
    p3 = [("t", 50, 740, 14, "Specific Instructions")] + text_block(50, 715, [
        "Line 1: you must enter one of the following on this line; do not leave this line blank.",
        "Line 3a: check only one box for federal tax classification.",
        "Line 5: enter your address (number, street, and apartment or suite number).",
        "Part I - Taxpayer Identification Number: enter your TIN in the appropriate box.",
        "If you are a single-member LLC that is disregarded, enter the owner's SSN or EIN."])
    p4 = [("t", 50, 740, 14, "Privacy Act Notice")] + text_block(50, 715, [
        "Section 6109 of the Internal Revenue Code requires you to provide your correct TIN to persons",
        "who must file information returns with the IRS to report interest, dividends, or certain other",
        "income paid to you. Routine uses of this information include giving it to the Department of Justice."])
    return pdf([p1, p2, p3, p4], "Form W-9 (sample)")


def report_pdf() -> bytes:
    p1 = [("t", 50, 740, 20, "Northwind Tools - Quarterly Report Q3 2026")] + text_block(50, 700, [
        "Summary",
        "Revenue grew 14% quarter over quarter to EUR 2.41M, driven by Gateway Pro renewals.",
        "Operating costs rose 6%, mostly GPU time for the image model experiments.",
        "Headcount: 38 (+3). Customer churn: 1.9% (Q2: 2.4%).",
        "Details per region are in the table on page 2; the outlook is on page 3."])
    rows = [("Region", "Revenue (kEUR)", "Costs (kEUR)", "Margin"),
            ("DACH", "1,020", "610", "40.2%"),
            ("Nordics", "455", "301", "33.8%"),
            ("UK & Ireland", "512", "355", "30.7%"),
            ("North America", "423", "298", "29.6%"),
            ("Total", "2,410", "1,564", "35.1%")]
    p2 = [("t", 50, 740, 14, "Table 1: Revenue and costs by region, Q3 2026")]
    xs, top, rh = [50, 200, 330, 460, 560], 710, 24
    for r, row in enumerate(rows):
        y = top - r * rh
        for c, cell in enumerate(row):
            p2.append(("t", xs[c] + 6, y - 16, 10, cell))
    for r in range(len(rows) + 1):
        p2.append(("l", xs[0], top - r * rh, xs[-1], top - r * rh))
    for x in xs:
        p2.append(("l", x, top, x, top - len(rows) * rh))
    p3 = [("t", 50, 740, 14, "Outlook Q4 2026")] + text_block(50, 715, [
        "Release 1.8.0 (OAuth client credentials) ships on 2026-11-10.",
        "API keys are switched off on 2027-03-31.",
        "Target: EUR 2.6M revenue, churn under 2%."])
    return pdf([p1, p2, p3], "Quarterly Report Q3 2026")


# --------------------------------------------------------------------------------------------
# Baseline grayscale JPEG, each 8x8 block a flat shade (DC only)


def jpeg(blocks: list[list[int]]) -> bytes:
    """blocks: rows of 8x8-block gray levels (0..255)."""
    bh, bw = len(blocks), len(blocks[0])
    def seg(marker: int, payload: bytes) -> bytes:
        return struct.pack(">HH", marker, len(payload) + 2) + payload
    out = bytearray(b"\xff\xd8")
    out += seg(0xFFE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
    out += seg(0xFFDB, b"\x00" + bytes([1] * 64))                       # all-ones quantisation
    out += seg(0xFFC0, struct.pack(">BHHB", 8, bh * 8, bw * 8, 1) + b"\x01\x11\x00")
    # DC table: categories 0..11, all 4-bit codes 0000..1011.  AC table: EOB (0x00) and ZRL, 2-bit codes.
    out += seg(0xFFC4, b"\x00" + bytes([0, 0, 0, 12] + [0] * 12) + bytes(range(12)))
    out += seg(0xFFC4, b"\x10" + bytes([0, 2] + [0] * 14) + b"\x00\xf0")
    out += seg(0xFFDA, b"\x01\x01\x00\x00\x3f\x00")
    bits: list[int] = []
    def put(value: int, n: int) -> None:
        bits.extend((value >> (n - 1 - i)) & 1 for i in range(n))
    prev = 0
    for row in blocks:
        for level in row:
            dc = 8 * (level - 128)
            diff, prev = dc - prev, dc
            cat = abs(diff).bit_length()
            put(cat, 4)
            if cat:
                put(diff if diff >= 0 else diff + (1 << cat) - 1, cat)
            put(0b00, 2)                                                 # EOB
    while len(bits) % 8:
        bits.append(1)
    for i in range(0, len(bits), 8):
        byte = int("".join(map(str, bits[i:i + 8])), 2)
        out.append(byte)
        if byte == 0xFF:
            out.append(0)
    out += b"\xff\xd9"
    return bytes(out)


DOG = [  # a sitting dog, 8x8 blocks: 0 background, 1 body, 2 ear/nose
    "........",
    ".22.....",
    ".111....",
    ".12.....",
    "..1111..",
    "..11111.",
    "..1..1..",
    "..1..1..",
]


def dog_jpeg(i: int) -> bytes:
    bg = [215, 190, 140, 235, 170][i]          # lawn, sofa, path, snow, floor
    body = [120, 95, 110, 80, 135][i]
    shift = i % 3 - 1
    grid = []
    for r in range(8):
        row = []
        for c in range(8):
            ch = DOG[r][(c - shift) % 8]
            row.append({".": bg, "1": body, "2": 40}[ch])
        grid.append(row)
    return jpeg(grid)


def main() -> None:
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "workspace")
    files = {
        "scans/receipt-0042.png": receipt_png(),
        "scans/form-w9.pdf": w9_pdf(),
        "scans/report-q3.pdf": report_pdf(),
    }
    for i in range(5):
        files[f"dog/dog{i + 1}.jpg"] = dog_jpeg(i)
    for rel, data in files.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
        print(f"{rel}: {len(data)} bytes")


if __name__ == "__main__":
    main()
