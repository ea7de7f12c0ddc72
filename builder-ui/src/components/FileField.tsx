// FileField is a record form's input for a `file` field: its value is the
// id of an upload (POST /api/files). It uploads a chosen or dropped file
// with progress, shows the current file (name, size, thumbnail for images)
// with a download link, and removes it. Bytes are fetched with the token
// and shown through object URLs, since links cannot carry it.
import { useEffect, useRef, useState, type DragEvent } from "react";
import { ApiError } from "../api";
import { fileBlob, fileMeta, formatSize, uploadFile, type FileMeta } from "../files";
import { useI18n } from "../i18n";

export function FileField({ app, value, onChange, readOnly, testId, inputId, invalid, describedBy }: {
  app: string;
  value: string; // the file id, "" for none
  onChange: (id: string) => void;
  readOnly?: boolean;
  testId: string;
  inputId: string;
  invalid?: boolean;
  describedBy?: string;
}) {
  const { t, lang } = useI18n();
  const [meta, setMeta] = useState<FileMeta | null>(null);
  const [missing, setMissing] = useState(false);
  const [thumb, setThumb] = useState<string | null>(null);
  const [progress, setProgress] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [over, setOver] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  const upload = useRef<AbortController | null>(null);

  // The current file's metadata and thumbnail.
  useEffect(() => {
    setMeta((m) => (m?.id === value ? m : null));
    setMissing(false);
    setThumb(null);
    if (!value) return;
    let live = true;
    let url: string | null = null;
    fileMeta(value).then(async (m) => {
      if (!live) return;
      setMeta(m);
      if (!m.thumbnail) return;
      const blob = await fileBlob(m.id, true);
      if (!live) return;
      url = URL.createObjectURL(blob);
      setThumb(url);
    }).catch(() => {
      if (live) setMissing(true);
    });
    return () => {
      live = false;
      if (url) URL.revokeObjectURL(url);
    };
  }, [value]);

  useEffect(() => () => upload.current?.abort(), []);

  const send = async (file: File) => {
    setError(null);
    setProgress(0);
    const ctrl = new AbortController();
    upload.current = ctrl;
    try {
      const m = await uploadFile(app, file, file.name, setProgress, ctrl.signal);
      setMeta(m);
      onChange(m.id);
    } catch (e) {
      if (e instanceof ApiError && e.code === "aborted") return;
      if (e instanceof ApiError && e.code === "file_too_large") setError(t("file.tooLarge", { message: e.message }));
      else setError(t("file.failed", { message: e instanceof Error ? e.message : String(e) }));
    } finally {
      if (upload.current === ctrl) upload.current = null;
      setProgress(null);
    }
  };

  const download = async () => {
    if (!meta) return;
    setError(null);
    try {
      const url = URL.createObjectURL(await fileBlob(meta.id));
      const a = document.createElement("a");
      a.href = url;
      a.download = meta.name;
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    } catch (e) {
      setError(t("file.failed", { message: e instanceof Error ? e.message : String(e) }));
    }
  };

  const drop = (e: DragEvent) => {
    e.preventDefault();
    setOver(false);
    const file = e.dataTransfer.files?.[0];
    if (file && !readOnly && progress === null) void send(file);
  };

  const current = value && (meta ? (
    <div className="file-current" data-testid={`${testId}-current`}>
      {thumb && <img className="file-thumb" src={thumb} alt="" data-testid={`${testId}-thumb`} />}
      <div className="file-info">
        <button type="button" className="btn-link file-name" data-testid={`${testId}-download`} onClick={() => void download()}
          title={t("file.download")}>{meta.name}</button>
        <span className="muted small">{formatSize(meta.size, lang)}</span>
      </div>
      {!readOnly && (
        <button type="button" className="btn btn-small" data-testid={`${testId}-remove`} onClick={() => { setError(null); onChange(""); }}>
          {t("file.remove")}
        </button>
      )}
    </div>
  ) : missing ? (
    <div className="muted small" data-testid={`${testId}-missing`}>{t("file.unavailable")}</div>
  ) : (
    <div className="muted small">{t("file.loading")}</div>
  ));

  if (readOnly) return <div className="file-field" data-testid={testId}>{current || <span className="muted">—</span>}</div>;

  return (
    <div className={"file-field file-drop" + (over ? " file-over" : "")} data-testid={testId}
      onDragOver={(e) => { e.preventDefault(); setOver(true); }} onDragLeave={() => setOver(false)} onDrop={drop}>
      {current}
      <div className="file-actions">
        <input ref={input} id={inputId} type="file" className="file-input" data-testid={`${testId}-input`}
          aria-invalid={invalid || undefined} aria-describedby={describedBy} disabled={progress !== null}
          onChange={(e) => {
            const file = e.target.files?.[0];
            e.target.value = "";
            if (file) void send(file);
          }} />
        <button type="button" className="btn btn-small" disabled={progress !== null} onClick={() => input.current?.click()}>
          {value ? t("file.replace") : t("file.choose")}
        </button>
        <span className="muted small">{t("file.drop")}</span>
      </div>
      {progress !== null && (
        <div className="file-progress" data-testid={`${testId}-progress`}>
          <progress max={1} value={progress} aria-label={t("file.uploading")} />
          <span className="small">{t("file.uploading")} {Math.round(progress * 100)}%</span>
          <button type="button" className="btn btn-small btn-ghost" onClick={() => upload.current?.abort()}>{t("common.cancel")}</button>
        </div>
      )}
      {error && <div className="field-error" role="alert" data-testid={`${testId}-error`}>{error}</div>}
    </div>
  );
}
