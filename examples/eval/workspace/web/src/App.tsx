import { useEffect, useState } from "react";
import { InvoiceTable } from "./components/InvoiceTable";

export interface Invoice {
  id: string;
  customer: string;
  total: number;
  currency: string;
  status: "draft" | "sent" | "paid";
}

async function fetchInvoices(token: string): Promise<Invoice[]> {
  const res = await fetch("/api/v2/invoices", { headers: { Authorization: `Bearer ${token}` } });
  if (!res.ok) throw new Error(`invoices: ${res.status}`);
  return res.json();
}

export default function App({ token }: { token: string }) {
  const [invoices, setInvoices] = useState<Invoice[]>([]);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    fetchInvoices(token).then(setInvoices).catch((e) => setError(String(e)));
  }, [token]);

  const unpaid = invoices.filter((i) => i.status !== "paid");
  return (
    <main className="dashboard">
      <h1>Invoices</h1>
      {error && <p className="error">{error}</p>}
      <p>{unpaid.length} unpaid of {invoices.length}</p>
      <InvoiceTable invoices={invoices} />
    </main>
  );
}
