// The notification bell in the top bar, for every signed-in user: the
// unread count, kept live by the server's stream (watchUnread), and a
// dropdown of the user's own notifications — the message, its app and how
// long ago — each opening its record (and marking it read), plus "mark all
// read". Keyboard: the bell is a button; in the open list ↓/↑ move between
// the entries, Home/End jump, Escape closes and gives focus back to the bell.
import { useCallback, useEffect, useRef, useState, type KeyboardEvent } from "react";
import { api, watchUnread, type Notification } from "../api";
import { useI18n, type Lang } from "../i18n";
import { navigate } from "../router";
import { errorText } from "./common";

const PAGE = 20;

// relativeTime says how long ago value was, in the user's language ("5
// minutes ago", "5分钟前"); under a minute is "just now" (justNow).
export function relativeTime(value: string, lang: Lang, justNow: string, now: number = Date.now()): string {
  const at = new Date(value).getTime();
  if (isNaN(at)) return value;
  const secs = Math.round((at - now) / 1000);
  if (Math.abs(secs) < 60) return justNow;
  const units: [Intl.RelativeTimeFormatUnit, number][] = [["minute", 60], ["hour", 3600], ["day", 86400], ["week", 604800], ["month", 2629800], ["year", 31557600]];
  let unit = units[0];
  for (const u of units) if (Math.abs(secs) >= u[1]) unit = u;
  return new Intl.RelativeTimeFormat(lang, { numeric: "auto" }).format(Math.round(secs / unit[1]), unit[0]);
}

function BellIcon() {
  return (
    <svg width="18" height="18" viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth="2" strokeLinecap="round" strokeLinejoin="round" aria-hidden="true">
      <path d="M6 8a6 6 0 0 1 12 0c0 7 3 9 3 9H3s3-2 3-9" /><path d="M10.3 21a1.94 1.94 0 0 0 3.4 0" />
    </svg>
  );
}

export function Bell({ retryMs }: { retryMs?: number } = {}) {
  const i18n = useI18n();
  const { t, lang } = i18n;
  const [unread, setUnread] = useState(0);
  const [open, setOpen] = useState(false);
  const [items, setItems] = useState<Notification[] | null>(null);
  const [next, setNext] = useState<string | undefined>();
  const [error, setError] = useState<string | null>(null);
  // App labels by name, read once the list is first opened.
  const [apps, setApps] = useState<Map<string, string> | null>(null);
  const bell = useRef<HTMLButtonElement>(null);
  const panel = useRef<HTMLDivElement>(null);

  // The live count: one stream for as long as the bell is shown.
  useEffect(() => {
    const ac = new AbortController();
    void watchUnread(setUnread, ac.signal, retryMs);
    return () => ac.abort();
  }, [retryMs]);

  const load = useCallback((cursor?: string) => {
    setError(null);
    api.notifications({ limit: PAGE, cursor }).then((p) => {
      setItems((old) => (cursor && old ? [...old, ...(p.items ?? [])] : p.items ?? []));
      setNext(p.nextCursor || undefined);
      setUnread(p.unread);
    }, (e) => setError(errorText(e, t)));
  }, [t]);

  // Opening reads the newest page afresh; so does a rise of the count while
  // open (a new notification). A fall (read here or elsewhere) keeps the
  // pages already shown.
  const seen = useRef(unread);
  useEffect(() => {
    if (open) load();
  }, [open, load]);
  useEffect(() => {
    if (!open || apps) return;
    api.apps().then((r) => setApps(new Map((r.items ?? []).map((a) => [a.name, a.label || a.name]))), () => setApps(new Map()));
  }, [open, apps]);
  useEffect(() => {
    if (open && unread > seen.current) load();
    seen.current = unread;
  }, [open, unread, load]);

  // A click outside closes the list.
  useEffect(() => {
    if (!open) return;
    const onDown = (e: MouseEvent) => {
      const target = e.target as Node;
      if (!panel.current?.contains(target) && !bell.current?.contains(target)) setOpen(false);
    };
    document.addEventListener("mousedown", onDown);
    return () => document.removeEventListener("mousedown", onDown);
  }, [open]);

  function close() {
    setOpen(false);
    bell.current?.focus();
  }

  async function openOne(n: Notification) {
    setOpen(false);
    if (!n.readAt) {
      try {
        setUnread((await api.readNotification(n.id)).unread);
      } catch {
        /* the record opens anyway; the mark is retried next time */
      }
    }
    navigate({ name: "record", app: n.app, entity: n.entity, id: n.recordId });
  }

  async function readAll() {
    setError(null);
    try {
      const r = await api.readAllNotifications();
      setUnread(r.unread);
      const now = new Date().toISOString();
      setItems((old) => old?.map((n) => (n.readAt ? n : { ...n, readAt: now })) ?? old);
    } catch (e) {
      setError(errorText(e, t));
    }
  }

  // Arrow keys move between the entries (and the buttons after them).
  function onKeyDown(e: KeyboardEvent<HTMLDivElement>) {
    if (e.key === "Escape") {
      e.preventDefault();
      close();
      return;
    }
    const all = Array.from(panel.current?.querySelectorAll<HTMLElement>("[data-nav]:not(:disabled)") ?? []);
    if (all.length === 0) return;
    const at = all.indexOf(document.activeElement as HTMLElement);
    let to = -1;
    if (e.key === "ArrowDown") to = at < 0 ? 0 : Math.min(at + 1, all.length - 1);
    else if (e.key === "ArrowUp") to = at <= 0 ? 0 : at - 1;
    else if (e.key === "Home") to = 0;
    else if (e.key === "End") to = all.length - 1;
    if (to >= 0) {
      e.preventDefault();
      all[to].focus();
    }
  }

  const label = unread > 0 ? t("notify.bellUnread", { count: unread }) : t("notify.bell");
  return (
    <div className="bell">
      <button type="button" ref={bell} className="btn btn-ghost btn-icon bell-button" aria-label={label} title={label}
        aria-expanded={open} aria-controls="bell-panel" data-testid="bell"
        onClick={() => setOpen((o) => !o)}
        onKeyDown={(e) => {
          if (e.key === "ArrowDown") {
            // Opens the list, or when open moves into it.
            e.preventDefault();
            if (!open) setOpen(true);
            else panel.current?.querySelector<HTMLElement>("[data-nav]:not(:disabled)")?.focus();
          } else if (e.key === "Escape" && open) {
            e.preventDefault();
            setOpen(false);
          }
        }}>
        <BellIcon />
        {unread > 0 && <span className="bell-count" aria-hidden="true" data-testid="bell-count">{unread > 99 ? "99+" : unread}</span>}
      </button>
      {open && (
        <div className="bell-panel card" id="bell-panel" role="region" aria-label={t("notify.bell")} ref={panel} onKeyDown={onKeyDown} data-testid="bell-panel">
          <div className="bell-head">
            <strong>{t("notify.bell")}</strong>
            <button type="button" className="btn btn-small btn-ghost" data-nav="" disabled={unread === 0} data-testid="bell-read-all" onClick={() => void readAll()}>
              {t("notify.markAllRead")}
            </button>
          </div>
          {error && <div className="alert alert-error" role="alert" data-testid="bell-error">{error}</div>}
          {items === null && !error && <p className="muted bell-empty">…</p>}
          {items && items.length === 0 && <p className="muted bell-empty" data-testid="bell-empty">{t("notify.empty")}</p>}
          {items && items.length > 0 && (
            <ul className="bell-list">
              {items.map((n) => (
                <li key={n.id}>
                  <button type="button" data-nav="" className={"bell-item" + (n.readAt ? "" : " unread")} data-testid="bell-item"
                    data-read={n.readAt ? "true" : "false"} onClick={() => void openOne(n)}>
                    <span className="bell-message">
                      {!n.readAt && <span className="visually-hidden">{t("notify.unread")}: </span>}
                      {n.message}
                    </span>
                    <span className="small muted">
                      {apps?.get(n.app) ?? n.app} · <time dateTime={n.createdAt} title={i18n.dateTime(n.createdAt)}>{relativeTime(n.createdAt, lang, t("notify.justNow"))}</time>
                    </span>
                  </button>
                </li>
              ))}
            </ul>
          )}
          {next && (
            <button type="button" className="btn btn-small bell-more" data-nav="" data-testid="bell-more" onClick={() => load(next)}>{t("notify.more")}</button>
          )}
        </div>
      )}
    </div>
  );
}
