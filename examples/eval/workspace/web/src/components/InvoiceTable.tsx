import type { Invoice } from "../App";

const colours: Record<Invoice["status"], string> = { draft: "#999", sent: "#c80", paid: "#2a2" };

export function InvoiceTable({ invoices }: { invoices: Invoice[] }) {
  return (
    <table>
      <thead>
        <tr><th>ID</th><th>Customer</th><th>Total</th><th>Status</th></tr>
      </thead>
      <tbody>
        {invoices.map((inv) => (
          <tr key={inv.id}>
            <td>{inv.id}</td>
            <td>{inv.customer}</td>
            <td>{inv.total.toFixed(2)} {inv.currency}</td>
            <td style={{ color: colours[inv.status] }}>{inv.status}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
