#!/usr/bin/env python3
"""Renders the OCR evaluation set: pages with known ground truth, clean and degraded.

Kinds: text paragraphs (several fonts and sizes), letters, two-column pages, ruled and unruled
tables, invoices, and forms ("Label: value", underlined and boxed fields, tick boxes). Degradations:
skew, blur, noise, low resolution, JPEG artefacts. Each image has a JSON file beside it with the
truth: text in reading order, tables as cell grids, form fields and tick boxes, document type.

    python3 tools/gen_ocr_eval.py OUT [--seed S] [--small] [--extras]

Only Pillow is needed (bootstrap installs it into .venv); fonts are Debian's DejaVu set; --extras\nencrypts a PDF with qpdf (Debian).
"""
import argparse, io, json, os, random, shutil, subprocess, sys
from PIL import Image, ImageDraw, ImageFilter, ImageFont

FONTS = {
    "sans": "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "serif": "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
    "mono": "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
    "sans-bold": "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
}
WORDS = """the of and to in is was for on that with as by at from this be are or an it have not which
one all were they their has been had more when there can will about time would these other into
some could them than its only new also two first any may after most over very well where through
back much before must right years between each work under great still should own being while same
another know because three without against never long every place world small state water house
under during report market system program question government company number group problem fact
public light river power order often cannot early table given local human service figure north
morning evening garden window letter paper station engine village harbour mountain winter summer
careful quiet simple gentle narrow bright heavy distant golden silver ancient modern common
measure record travel follow return gather answer consider develop include provide remain""".split()
NAMES = ["Alice Martin", "Bruno Keller", "Chen Wei", "Dana Scott", "Elena Rossi", "Farid Haddad",
         "Grace Okafor", "Hugo Laurent", "Ines Duarte", "Jonas Berg", "Kofi Mensah", "Lena Novak"]
CITIES = ["Lyon", "Oslo", "Porto", "Graz", "Leeds", "Turin", "Ghent", "Bergen", "Cork", "Basel"]
ITEMS = ["Paper", "Ink", "Stapler", "Folder", "Marker", "Envelope", "Tape", "Notebook", "Pencil", "Binder",
         "Ruler", "Scissors", "Labels", "Clips", "Eraser"]
DPI = 300


def font(name, pt):
    return ImageFont.truetype(FONTS[name], int(pt * DPI / 72))


def sentence(r):
    n = r.randint(6, 14)
    ws = [r.choice(WORDS) for _ in range(n)]
    if r.random() < 0.3:
        ws.insert(r.randint(1, n - 1), str(r.randint(2, 2099)))
    s = " ".join(ws)
    return s[0].upper() + s[1:] + r.choice([".", ".", ".", ",", ";"])[0].replace(",", ".").replace(";", ".")


def paragraph(r, sentences=None):
    return " ".join(sentence(r) for _ in range(sentences or r.randint(2, 4)))


def wrap(draw, text, f, width):
    lines, line = [], ""
    for w in text.split():
        t = (line + " " + w).strip()
        if draw.textlength(t, font=f) <= width:
            line = t
        else:
            lines.append(line)
            line = w
    if line:
        lines.append(line)
    return lines


class Page:
    def __init__(self, w, h):
        self.img = Image.new("L", (w, h), 255)
        self.d = ImageDraw.Draw(self.img)
        self.w, self.h = w, h

    def text_block(self, x, y, width, text, f, leading=1.35):
        """Draws wrapped text; returns the y below it and the lines drawn."""
        lines = wrap(self.d, text, f, width)
        lh = int(f.size * leading)
        for ln in lines:
            self.d.text((x, y), ln, font=f, fill=0)
            y += lh
        return y, lines


def gen_text(r, W, H, letter=False):
    p = Page(W, H)
    fname = r.choice(["sans", "serif", "mono"])
    pt = r.choice([10, 11, 12, 14])
    f = font(fname, pt)
    m = int(W * 0.1)
    y = m
    paras = []
    if letter:
        name = r.choice(NAMES)
        paras.append(f"Dear {name.split()[0]},")
    count = r.randint(3, 5)
    for _ in range(count):
        paras.append(paragraph(r))
    if letter:
        paras.append("Yours sincerely,")
        paras.append(r.choice(NAMES))
    truth = []
    for t in paras:
        if y > H - m - 4 * f.size:
            break
        y, lines = p.text_block(m, y, W - 2 * m, t, f)
        truth.append("\n".join(lines))
        y += int(f.size * 0.9)
    return p.img, {"kind": "letter" if letter else "text", "font": fname, "pt": pt, "text": "\n\n".join(truth),
                   "type": "letter" if letter else "other", "tables": [], "fields": [], "checkboxes": []}


def gen_columns(r, W, H):
    p = Page(W, H)
    f = font(r.choice(["serif", "sans"]), 10)
    ft = font("sans-bold", 16)
    m = int(W * 0.08)
    title = " ".join(r.choice(WORDS) for _ in range(4)).title()
    p.d.text((m, m), title, font=ft, fill=0)
    top = m + int(ft.size * 2)
    gutter = int(W * 0.05)
    cw = (W - 2 * m - gutter) // 2
    truth = [title]
    for c in range(2):
        x, y = m + c * (cw + gutter), top
        for _ in range(3):
            if y > H - m - 6 * f.size:
                break
            y, lines = p.text_block(x, y, cw, paragraph(r, 3), f)
            truth.append("\n".join(lines))
            y += int(f.size * 0.9)
    return p.img, {"kind": "columns", "text": "\n\n".join(truth), "type": "other", "tables": [], "fields": [], "checkboxes": []}


def table_cells(r, rows, cols):
    head = ["Item", "Qty", "Price", "City", "Code", "Date"][:cols]
    grid = [head]
    for _ in range(rows - 1):
        row = [r.choice(ITEMS), str(r.randint(1, 99)), f"{r.randint(1, 999)}.{r.randint(0, 99):02d}",
               r.choice(CITIES), f"{r.choice('ABCDEFGH')}{r.randint(100, 999)}", f"2026-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}"][:cols]
        grid.append(row)
    return grid


def draw_table(p, r, x, y, grid, f, ruled):
    cols = len(grid[0])
    widths = [max(p.d.textlength(row[c], font=f) for row in grid) + f.size * (1.2 if ruled else 2.5) for c in range(cols)]
    rh = int(f.size * 1.9)
    xs = [x]
    for w in widths:
        xs.append(xs[-1] + int(w))
    for i, row in enumerate(grid):
        for c, t in enumerate(row):
            p.d.text((xs[c] + int(f.size * 0.5), y + i * rh + int(f.size * 0.4)), t, font=f, fill=0)
    if ruled:
        lw = max(2, f.size // 14)
        for i in range(len(grid) + 1):
            p.d.line([(xs[0], y + i * rh), (xs[-1], y + i * rh)], fill=0, width=lw)
        for xx in xs:
            p.d.line([(xx, y), (xx, y + len(grid) * rh)], fill=0, width=lw)
    return y + len(grid) * rh


def gen_table(r, W, H, ruled):
    p = Page(W, H)
    f = font(r.choice(["sans", "serif"]), r.choice([10, 11, 12]))
    m = int(W * 0.1)
    cap = "Table " + str(r.randint(1, 9)) + ": " + " ".join(r.choice(WORDS) for _ in range(3))
    p.d.text((m, m), cap, font=f, fill=0)
    grid = table_cells(r, r.randint(5, 8), r.randint(3, 5))
    draw_table(p, r, m, m + int(f.size * 3), grid, f, ruled)
    return p.img, {"kind": "ruled-table" if ruled else "unruled-table", "text": cap, "type": "table",
                   "tables": [grid], "fields": [], "checkboxes": []}


def gen_invoice(r, W, H):
    p = Page(W, H)
    f = font("sans", 11)
    fb = font("sans-bold", 18)
    m = int(W * 0.1)
    p.d.text((m, m), "INVOICE", font=fb, fill=0)
    number = f"INV-{r.randint(1000, 9999)}"
    date = f"2026-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}"
    cust = r.choice(NAMES)
    fields = [("Invoice number", number), ("Date", date), ("Bill to", cust)]
    y = m + int(fb.size * 2)
    for k, v in fields:
        p.d.text((m, y), f"{k}: {v}", font=f, fill=0)
        y += int(f.size * 1.6)
    y += f.size
    grid = [["Item", "Qty", "Price"]] + [[r.choice(ITEMS), str(r.randint(1, 20)), f"{r.randint(1, 300)}.{r.randint(0, 99):02d}"] for _ in range(r.randint(3, 5))]
    y = draw_table(p, r, m, y, grid, f, True) + f.size
    total = f"{r.randint(100, 5000)}.{r.randint(0, 99):02d}"
    p.d.text((m, y), f"Total: {total}", font=f, fill=0)
    fields.append(("Total", total))
    return p.img, {"kind": "invoice", "text": "", "type": "invoice", "tables": [grid],
                   "fields": [{"key": k, "value": v} for k, v in fields], "checkboxes": []}


def gen_form(r, W, H):
    p = Page(W, H)
    f = font(r.choice(["sans", "serif"]), 11)
    fb = font("sans-bold", 16)
    m = int(W * 0.1)
    p.d.text((m, m), "Application Form", font=fb, fill=0)
    y = m + int(fb.size * 2.2)
    name = r.choice(NAMES)
    fields = []
    # "Label: value"
    for k, v in [("Name", name), ("City", r.choice(CITIES)), ("Phone", f"+41 {r.randint(10, 99)} {r.randint(100, 999)} {r.randint(1000, 9999)}")]:
        p.d.text((m, y), f"{k}: {v}", font=f, fill=0)
        fields.append({"key": k, "value": v})
        y += int(f.size * 2)
    # Underlined: "Label" then a line with the value written on it.
    for k, v in [("Email", name.split()[0].lower() + "@example.org"), ("Date of birth", f"19{r.randint(50, 99)}-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}")]:
        lab = k + ":"
        p.d.text((m, y), lab, font=f, fill=0)
        x0 = m + int(p.d.textlength(lab, font=f)) + f.size
        x1 = x0 + int(W * 0.45)
        p.d.text((x0 + f.size // 2, y), v, font=f, fill=0)
        base = y + int(f.size * 1.25)
        p.d.line([(x0, base), (x1, base)], fill=0, width=max(2, f.size // 16))
        fields.append({"key": k, "value": v})
        y += int(f.size * 2.4)
    # A boxed field with its label above.
    k, v = "Reference", f"{r.choice('ABCDEFGH')}{r.randint(10000, 99999)}"
    p.d.text((m, y), k, font=f, fill=0)
    by = y + int(f.size * 1.5)
    p.d.rectangle([(m, by), (m + int(W * 0.4), by + int(f.size * 1.8))], outline=0, width=max(2, f.size // 16))
    p.d.text((m + f.size // 2, by + int(f.size * 0.35)), v, font=f, fill=0)
    fields.append({"key": k, "value": v})
    y = by + int(f.size * 3)
    # Tick boxes.
    boxes = []
    s = int(f.size * 0.9)
    for label in r.sample(["Subscribe to newsletter", "Accept terms", "Express delivery", "Gift wrap", "Paper invoice"], 3):
        checked = r.random() < 0.5
        p.d.rectangle([(m, y), (m + s, y + s)], outline=0, width=max(2, s // 12))
        if checked:
            p.d.line([(m + s // 5, y + s // 5), (m + s - s // 5, y + s - s // 5)], fill=0, width=max(2, s // 9))
            p.d.line([(m + s - s // 5, y + s // 5), (m + s // 5, y + s - s // 5)], fill=0, width=max(2, s // 9))
        p.d.text((m + int(s * 1.6), y - int(f.size * 0.1)), label, font=f, fill=0)
        boxes.append({"label": label, "checked": checked})
        y += int(f.size * 2)
    return p.img, {"kind": "form", "text": "", "type": "form", "tables": [], "fields": fields, "checkboxes": boxes}


def degrade(img, how, r):
    if how == "skew":
        return img.rotate(r.choice([-1, 1]) * r.uniform(1.5, 3.5), resample=Image.BICUBIC, expand=True, fillcolor=255), DPI
    if how == "blur":
        return img.filter(ImageFilter.GaussianBlur(2.2)), DPI
    if how == "noise":
        px = img.load()
        w, h = img.size
        rr = random.Random(r.random())
        out = img.copy()
        po = out.load()
        for _ in range(int(w * h * 0.03)):
            x, y = rr.randrange(w), rr.randrange(h)
            po[x, y] = 0 if rr.random() < 0.5 else 255
        return out.filter(ImageFilter.GaussianBlur(0.6)), DPI
    if how == "lowres":
        s = 100 / DPI
        return img.resize((int(img.width * s), int(img.height * s)), Image.LANCZOS), 100
    if how == "jpeg":
        b = io.BytesIO()
        img.save(b, "JPEG", quality=12)
        return Image.open(io.BytesIO(b.getvalue())).convert("L"), DPI
    return img, DPI


def text_pdf(path, pages):
    """A minimal PDF whose pages carry a text layer (Helvetica, one line per entry)."""
    objs = []
    def add(body):
        objs.append(body)
        return len(objs)
    font_id = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    kids = []
    pages_id = add(None)  # filled below
    for lines in pages:
        ops = ["BT /F1 12 Tf 72 720 Td 16 TL"]
        for ln in lines:
            esc = ln.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
            ops.append(f"({esc}) Tj T*")
        ops.append("ET")
        stream = "\n".join(ops).encode("latin-1")
        content = add(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
        kids.append(add(b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792] /Contents %d 0 R /Resources << /Font << /F1 %d 0 R >> >> >>" % (pages_id, content, font_id)))
    objs[pages_id - 1] = b"<< /Type /Pages /Kids [" + b" ".join(b"%d 0 R" % k for k in kids) + b"] /Count %d >>" % len(kids)
    catalog = add(b"<< /Type /Catalog /Pages %d 0 R >>" % pages_id)
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for o in offsets:
        out += b"%010d 00000 n \n" % o
    out += b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, catalog, xref)
    open(path, "wb").write(bytes(out))


def extras(out, r, W, H):
    """Multi-page TIFF, PDFs with and without a text layer, an encrypted PDF (qpdf), with truth."""
    imgs = [gen_text(r, W, H), gen_table(r, W, H, True), gen_form(r, W, H)]
    imgs[0][0].save(os.path.join(out, "multipage.tif"), save_all=True, append_images=[i for i, _ in imgs[1:]], dpi=(DPI, DPI), compression="tiff_lzw")
    imgs[0][0].save(os.path.join(out, "scanned.pdf"), save_all=True, append_images=[imgs[1][0]], resolution=DPI)
    lines = [[sentence(r) for _ in range(6)], [sentence(r) for _ in range(4)]]
    text_pdf(os.path.join(out, "textlayer.pdf"), lines)
    truth = {"multipage.tif": [t for _, t in imgs], "scanned.pdf": [imgs[0][1], imgs[1][1]],
             "textlayer.pdf": [{"text": "\n".join(l)} for l in lines]}
    if shutil.which("qpdf"):
        subprocess.run(["qpdf", "--encrypt", "secret", "owner", "256", "--", os.path.join(out, "textlayer.pdf"),
                        os.path.join(out, "encrypted.pdf")], check=True)
    json.dump(truth, open(os.path.join(out, "extras.json"), "w"), indent=1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--small", action="store_true", help="half pages and one page per kind (for tests)")
    ap.add_argument("--extras", action="store_true", help="also multi-page TIFF, text-layer, scanned and encrypted PDFs")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    r = random.Random(args.seed)
    W, H = (2550, 1650) if args.small else (2550, 3300)
    kinds = [("text", lambda: gen_text(r, W, H)), ("letter", lambda: gen_text(r, W, H, letter=True)),
             ("columns", lambda: gen_columns(r, W, H)), ("ruled-table", lambda: gen_table(r, W, H, True)),
             ("unruled-table", lambda: gen_table(r, W, H, False)), ("invoice", lambda: gen_invoice(r, W, H)),
             ("form", lambda: gen_form(r, W, H))]
    degradations = ["skew", "blur", "noise", "lowres", "jpeg"]
    manifest = []
    for name, make in kinds:
        for copy in range(1 if args.small else 2):
            img, truth = make()
            for how in ["clean"] + degradations:
                if args.small and how not in ("clean", "skew", "lowres"):
                    continue
                out, dpi = degrade(img, how, r)
                stem = f"{name}-{copy}-{how}"
                ext = "jpg" if how == "jpeg" else "png"
                path = os.path.join(args.out, f"{stem}.{ext}")
                if ext == "jpg":
                    out.save(path, "JPEG", quality=12, dpi=(dpi, dpi))
                else:
                    out.save(path, dpi=(dpi, dpi))
                t = dict(truth, file=os.path.basename(path), degradation=how, dpi=dpi)
                with open(os.path.join(args.out, stem + ".json"), "w") as fh:
                    json.dump(t, fh, indent=1)
                manifest.append(t["file"])
    if args.extras:
        extras(args.out, r, W, H)
    with open(os.path.join(args.out, "manifest.json"), "w") as fh:
        json.dump(manifest, fh, indent=1)
    print(f"{len(manifest)} images in {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
