package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/formaapp/forma/engine/store/storetest"
)

// importCrashDoc: lead has a validation, so the import writes row by row
// (the slow path: long enough to be killed in the middle).
const importCrashDoc = `{"name": "crm", "entities": [{"name": "lead", "fields": [
  {"id": "f1", "name": "name", "type": "text", "required": true, "unique": true},
  {"id": "f2", "name": "score", "type": "integer"}],
  "validations": [{"expr": "score >= 0", "message": "no negative score", "field": "score"}]}]}`

// An import SIGKILLed in the middle of its transaction leaves no row; the
// server started again rescues its job, which imports every row once.
func TestImportSurvivesSIGKILL(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		dir := t.TempDir()
		importCrash(t, []string{"--data", dir}, openProbe(t, "", dir))
	})
	t.Run("postgres", func(t *testing.T) {
		url := storetest.PostgresURL(t)
		importCrash(t, []string{"--db", url, "--data", t.TempDir()}, openProbe(t, url, ""))
	})
}

// call sends a JSON (or multipart, with ct) request to a server.
func call(t *testing.T, addr, token, method, path, ct string, body []byte) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+addr+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

func importCrash(t *testing.T, dbArgs []string, p *probeDB) {
	const rows = 60000
	// Jobs are rescued after their own timeout, which for an import is
	// the rescue timeout: long enough for the whole import.
	dbArgs = append(dbArgs, "--jobs-rescue-after", "40s")
	a := startJobs(t, dbArgs)
	st, body := call(t, a.addr, "", "POST", "/api/auth/login", "application/json", []byte(`{"email": "jobs@example.com", "password": "jobs-pass-1"}`))
	if st != 200 {
		t.Fatalf("login: %d %v", st, body)
	}
	token := body["token"].(string)
	if st, body := call(t, a.addr, token, "POST", "/api/meta/apps", "application/json", []byte(importCrashDoc)); st != 201 {
		t.Fatalf("apply: %d %v", st, body)
	}
	var csv strings.Builder
	csv.WriteString("name,score\n")
	for i := 0; i < rows; i++ {
		fmt.Fprintf(&csv, "lead %06d,%d\n", i, i%100)
	}
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	fw, _ := w.CreateFormFile("file", "leads.csv")
	fw.Write([]byte(csv.String()))
	w.Close()
	st, body = call(t, a.addr, token, "POST", "/api/data/crm/lead/imports", w.FormDataContentType(), buf.Bytes())
	if st != 202 {
		t.Fatalf("start: %d %v", st, body)
	}
	id := body["id"].(string)
	status := func(addr string) map[string]any {
		st, body := call(t, addr, token, "GET", "/api/data/crm/lead/imports/"+id, "", nil)
		if st != 200 {
			t.Fatalf("status: %d %v", st, body)
		}
		return body
	}
	p.waitFor("the import a third done", 3*time.Minute, func() bool {
		b := status(a.addr)
		n, _ := b["processed"].(float64)
		if b["status"] == "done" {
			t.Fatalf("the import was over before the kill: %v", b)
		}
		return n >= rows/3
	})
	a.kill(t)
	if n := p.count(`SELECT COUNT(*) FROM crm_lead`); n != 0 {
		t.Fatalf("%d rows after the kill, want none", n)
	}
	b := startJobs(t, dbArgs)
	var final map[string]any
	defer func() {
		if t.Failed() {
			rows, err := p.db.SQL.Query(`SELECT state, attempt, errors::text FROM river_job WHERE kind = 'forma_import'`)
			if err != nil {
				rows, err = p.db.SQL.Query(`SELECT state, attempt, errors FROM river_job WHERE kind = 'forma_import'`)
			}
			if err == nil {
				for rows.Next() {
					var st string
					var at int
					var errs []byte
					rows.Scan(&st, &at, &errs)
					t.Logf("import job: %s attempt %d: %s", st, at, errs)
				}
				rows.Close()
			}
		}
	}()
	p.waitFor("the import done after the restart", 4*time.Minute, func() bool {
		final = status(b.addr)
		return final["status"] == "done" || final["status"] == "failed"
	})
	if final["status"] != "done" || final["created"] != float64(rows) {
		t.Fatalf("after the restart: %v", final)
	}
	if n := p.count(`SELECT COUNT(*) FROM crm_lead`); n != rows {
		t.Fatalf("%d rows, want %d", n, rows)
	}
	if n := p.count(`SELECT COUNT(*) FROM _forma_history WHERE entity = 'lead' AND path = 'import'`); n != rows {
		t.Fatalf("%d history entries, want %d", n, rows)
	}
	p.waitFor("the import job completed", time.Minute, func() bool {
		return p.count(`SELECT COUNT(*) FROM river_job WHERE kind = 'forma_import' AND state = 'completed'`) == 1
	})
}
