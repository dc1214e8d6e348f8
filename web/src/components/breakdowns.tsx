/**
 * The run's receipt by agent (role) and by service: the server's aggregates, top rows and the
 * rest summed as "other".
 */
import type { Receipt, ReceiptBreakdown } from "../../../gen/es/tollgate/v1/receipt_service_pb.js";
import { credits } from "../format.js";

export function Breakdowns({ receipt }: { receipt: Receipt }) {
  return (
    <section class="panel" aria-labelledby="breakdowns-heading">
      <h3 id="breakdowns-heading">Receipt</h3>
      <p class="receipt-summary" data-testid="receipt-summary">
        {credits(receipt.totalCredits)} credits in {credits(receipt.callCount)} calls
        {receipt.refillCount > 0n &&
          ` · ${credits(receipt.refillCredits)} topped up (${credits(receipt.refillCount)})`}
        {receipt.voidedHoldCount > 0n &&
          ` · ${credits(receipt.voidedHoldCredits)} released by ${credits(receipt.voidedHoldCount)} holds`}
        {receipt.overBudgetCount > 0n && ` · ${credits(receipt.overBudgetCount)} over budget`}
      </p>
      <div class="breakdowns">
        <BreakdownTable
          caption="By agent"
          testId="by-agent"
          rows={receipt.byAgent}
          other={receipt.byAgentOther}
          keyCount={receipt.agentKeyCount}
        />
        <BreakdownTable
          caption="By service"
          testId="by-service"
          rows={receipt.byService}
          other={receipt.byServiceOther}
          keyCount={receipt.serviceKeyCount}
        />
      </div>
    </section>
  );
}

function BreakdownTable(props: {
  caption: string;
  testId: string;
  rows: ReceiptBreakdown[];
  other: ReceiptBreakdown | undefined;
  keyCount: bigint;
}) {
  const { rows, other } = props;
  const leftOut = props.keyCount - BigInt(rows.length);
  return (
    <table class="breakdown" data-testid={props.testId}>
      <caption>{props.caption}</caption>
      <thead>
        <tr>
          <th scope="col">{props.caption === "By agent" ? "agent" : "service"}</th>
          <th scope="col" class="number">
            calls
          </th>
          <th scope="col" class="number">
            credits
          </th>
        </tr>
      </thead>
      <tbody>
        {rows.length === 0 && (
          <tr>
            <td colSpan={3} class="empty">
              nothing spent yet
            </td>
          </tr>
        )}
        {rows.map((row) => (
          <tr key={row.key} data-key={row.key}>
            <th scope="row">{row.key}</th>
            <td class="number">{credits(row.callCount)}</td>
            <td class="number">{credits(row.credits)}</td>
          </tr>
        ))}
        {other !== undefined && other.callCount > 0n && (
          <tr class="other">
            <th scope="row">other ({credits(leftOut)} more)</th>
            <td class="number">{credits(other.callCount)}</td>
            <td class="number">{credits(other.credits)}</td>
          </tr>
        )}
      </tbody>
    </table>
  );
}
