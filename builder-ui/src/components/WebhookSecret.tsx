// The app's webhook signing secret, for the automations designer: hidden
// until asked for (reading it is audited), copy, rotate (after a
// confirmation: receivers reject deliveries until they get the new one),
// and how a receiver verifies X-Forma-Signature.
import { useState } from "react";
import { api } from "../api";
import { useI18n } from "../i18n";
import { ErrorBox } from "./common";

// VERIFY_SNIPPET is the receiver's check in a few lines (Node.js); the
// same steps in any language. It is code, so it is not translated.
export const VERIFY_SNIPPET = `// header: t=<unix>,v1=<hex>
const parts = Object.fromEntries(header.split(",").map((p) => p.trim().split("=", 2)));
const mac = crypto.createHmac("sha256", Buffer.from(secretHex, "hex"))
  .update(parts.t + "." + rawBody).digest("hex");
const ok = crypto.timingSafeEqual(Buffer.from(mac), Buffer.from(parts.v1 ?? ""))
  && Math.abs(Date.now() / 1000 - Number(parts.t)) < 300;`;

export function WebhookSecret({ app }: { app: string }) {
  const { t } = useI18n();
  const [secret, setSecret] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const [copied, setCopied] = useState(false);
  const [rotated, setRotated] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const run = (p: Promise<{ secret: string }>, after?: () => void) => {
    setBusy(true);
    setError(null);
    setCopied(false);
    p.then((r) => {
      setSecret(r.secret);
      after?.();
    }, setError).finally(() => setBusy(false));
  };

  return (
    <section className="card webhook-secret" data-testid="webhook-secret" aria-labelledby="webhook-secret-title">
      <h3 id="webhook-secret-title">{t("webhook.secretTitle")}</h3>
      <p className="small muted">{t("webhook.secretIntro")}</p>
      <div className="copy-link">
        <input readOnly className="mono" aria-label={t("webhook.secretTitle")} data-testid="webhook-secret-value"
          value={secret ?? "•".repeat(16)} onFocus={(e) => secret && e.target.select()} />
        {secret === null ? (
          <button type="button" className="btn btn-small" data-testid="webhook-secret-show" disabled={busy}
            onClick={() => run(api.webhookSecret(app))}>{t("webhook.show")}</button>
        ) : (
          <>
            <button type="button" className="btn btn-small" data-testid="webhook-secret-copy" onClick={() => {
              void navigator.clipboard?.writeText(secret).then(() => setCopied(true), () => undefined);
            }}>{copied ? t("admin.copied") : t("admin.copy")}</button>
            <button type="button" className="btn btn-small btn-ghost" data-testid="webhook-secret-hide"
              onClick={() => { setSecret(null); setCopied(false); setRotated(false); }}>{t("webhook.hide")}</button>
          </>
        )}
        {!confirming && (
          <button type="button" className="btn btn-small btn-ghost danger-text" data-testid="webhook-secret-rotate" disabled={busy}
            onClick={() => setConfirming(true)}>{t("webhook.rotate")}</button>
        )}
      </div>
      {confirming && (
        <div className="alert alert-warn" role="alert" data-testid="webhook-secret-confirm">
          <p>{t("webhook.rotateWarning")}</p>
          <button type="button" className="btn btn-small danger" data-testid="webhook-secret-rotate-confirm" disabled={busy}
            onClick={() => run(api.rotateWebhookSecret(app), () => { setConfirming(false); setRotated(true); })}>{t("webhook.rotateConfirm")}</button>
          <button type="button" className="btn btn-small btn-ghost" data-testid="webhook-secret-rotate-cancel"
            onClick={() => setConfirming(false)}>{t("webhook.cancel")}</button>
        </div>
      )}
      {rotated && <p className="small" role="status" data-testid="webhook-secret-rotated">{t("webhook.rotated")}</p>}
      {error ? <ErrorBox error={error} testId="webhook-secret-error" /> : null}
      <details data-testid="webhook-verify">
        <summary>{t("webhook.verifyTitle")}</summary>
        <p className="small">{t("webhook.verifyText")}</p>
        <pre className="mono small" data-testid="webhook-verify-code">{VERIFY_SNIPPET}</pre>
      </details>
    </section>
  );
}
