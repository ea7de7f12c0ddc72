// Live API-name preview from a label, in the browser (pinyin-pro): Chinese
// by pinyin without tones, two characters to a word (most Chinese words
// have two: 门店销售 → mendian_xiaoshou), Latin letters lower-cased, digits
// kept, anything else a word break; names match ^[a-z][a-z0-9_]{0,62}$.
// The server has the last word on a name; this is what the user sees and
// may edit before the first publish. pinyin-pro carries its dictionary
// (~450 kB), so it is its own chunk, loaded when a screen that names things
// opens (usePinyin), never on the login page.
import { useEffect, useState } from "react";

type Pinyin = typeof import("pinyin-pro").pinyin;
let pinyin: Pinyin | null = null;
let loading: Promise<void> | null = null;

export function loadPinyin(): Promise<void> {
  loading ??= import("pinyin-pro").then((m) => {
    pinyin = m.pinyin;
  });
  return loading;
}

// usePinyin loads pinyin-pro and re-renders once it is there.
export function usePinyin(): boolean {
  const [ready, setReady] = useState(pinyin !== null);
  useEffect(() => {
    if (ready) return;
    let live = true;
    void loadPinyin().then(() => live && setReady(true));
    return () => {
      live = false;
    };
  }, [ready]);
  return ready;
}

const HAN = /\p{Script=Han}/u;
const MAX = 63;

export function nameFromLabel(label: string): string {
  const words: string[] = [];
  let latin = "";
  let han: string[] = [];
  const flushLatin = () => {
    if (latin) words.push(latin);
    latin = "";
  };
  const flushHan = () => {
    for (let i = 0; i < han.length; i += 2) words.push(han.slice(i, i + 2).join(""));
    han = [];
  };
  for (const ch of label.normalize("NFKD")) {
    if (HAN.test(ch) && pinyin) {
      flushLatin();
      const py = pinyin(ch, { toneType: "none", type: "array", v: true })[0] ?? "";
      han.push(py.toLowerCase().replace(/[^a-z]/g, ""));
    } else if (/[A-Za-z0-9]/.test(ch)) {
      flushHan();
      latin += ch.toLowerCase();
    } else if (/\p{M}/u.test(ch)) {
      // a combining accent of a decomposed letter (é → e + ´): dropped
    } else {
      flushLatin();
      flushHan();
    }
  }
  flushLatin();
  flushHan();
  let name = words.filter(Boolean).join("_");
  if (name && !/^[a-z]/.test(name)) name = "n_" + name;
  return name.slice(0, MAX).replace(/_+$/, "");
}

// uniqueName numbers a name that is taken: name, name_2, name_3…
export function uniqueName(name: string, taken: (n: string) => boolean): string {
  if (!taken(name)) return name;
  for (let i = 2; ; i++) {
    const suffix = "_" + i;
    const n = name.slice(0, MAX - suffix.length) + suffix;
    if (!taken(n)) return n;
  }
}
