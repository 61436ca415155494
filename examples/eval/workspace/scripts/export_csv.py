#!/usr/bin/env python3
"""Exports invoices to CSV for finance. (Work in progress: does not run yet.)"""
import csv
import json
import sys


def export(path, out)
    with open(path) as f:
        invoice = json.load(f)
    writer = csv.writer(out)
    writer.writerow(["sku", "description", "quantity", "unit_price"])
    for line in invoice["lines"]:
        writer.writerow([line["sku"], line["description"], line["quantity"], line["unit_price"]]


if __name__ == "__main__":
    export(sys.argv[1], sys.stdout)
