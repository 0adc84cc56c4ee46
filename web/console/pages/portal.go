package pages

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/control"
	"github.com/firedrill/firedrill/report"
)

// The regulator portal: what an auditor is shown, the published reports and the runs they
// cover, and a check of a bundle against the institution's public key in the browser's
// session, with the commands that repeat the check offline. What an auditor may read is
// control's (Scopes in its authorization table); these pages only show it.

var portalMessages = map[string][2]string{
	"nav.portal":        {"Published reports", "공개 보고서"},
	"nav.portal_verify": {"Verify a bundle", "보고서 검증"},

	"portal.title":        {"Published compliance reports", "공개된 준수 보고서"},
	"portal.intro":        {"Each report below was signed off and never changes. Download its bundle and verify it here or offline with the institution's public key.", "아래 보고서는 최종 서명되어 더 이상 변경되지 않습니다. 번들을 내려받아 이 화면에서 또는 기관 공개키로 오프라인에서 검증하실 수 있습니다."},
	"portal.none":         {"No report has been published yet.", "아직 공개된 보고서가 없습니다."},
	"portal.report":       {"%s, %s, version %d", "%s, %s, 제%d판"},
	"portal.replaces":     {"corrects %s", "%s 정정본"},
	"portal.published_by": {"Published by", "공개자"},
	"portal.fingerprint":  {"Signing key fingerprint", "서명키 지문"},
	"portal.manifest":     {"Manifest SHA-256", "매니페스트 SHA-256"},
	"portal.runs":         {"Drills it covers (%d)", "대상 훈련 (%d건)"},
	"portal.runs_more":    {"The first %d of %d drills are listed; the bundle's runs.csv lists them all.", "전체 %[2]d건 중 %[1]d건을 표시합니다. 전체 목록은 번들의 runs.csv에 있습니다."},
	"portal.no_runs":      {"The report covers no drill.", "대상 훈련이 없습니다."},
	"portal.verify_link":  {"Verify a downloaded bundle", "내려받은 번들 검증"},

	"verify.title":        {"Verify a report bundle", "보고서 번들 검증"},
	"verify.upload":       {"Upload a bundle", "번들 올리기"},
	"verify.intro":        {"Upload a report bundle (the zip you downloaded). It is checked in this session against this institution's public key, as firedrill report verify does: the signature, every file's hash, the audit chain and every RTO and RPO recomputed. Nothing is stored.", "내려받은 보고서 번들(zip)을 올려 주십시오. firedrill report verify와 동일하게 기관 공개키로 서명, 파일별 해시, 감사 체인을 확인하고 RTO·RPO를 모두 다시 계산합니다. 올린 파일은 저장하지 않습니다."},
	"verify.file":         {"Report bundle (.zip)", "보고서 번들 (.zip)"},
	"verify.file_hint":    {"At most %s.", "최대 %s."},
	"verify.do":           {"Verify", "검증"},
	"verify.result":       {"Result for %s", "%s 검증 결과"},
	"verify.holds":        {"The bundle holds: report %s version %d (%s) is what this institution signed.", "검증 통과: 보고서 %s 제%d판(%s)은 본 기관이 서명한 그대로입니다."},
	"verify.fails":        {"The bundle does NOT hold: %d problem(s) found. Do not rely on it.", "검증 실패: 문제 %d건이 발견되었습니다. 이 번들을 신뢰하지 마십시오."},
	"verify.check":        {"Check", "점검 항목"},
	"verify.outcome":      {"Outcome", "결과"},
	"verify.details":      {"Details", "내용"},
	"verify.pass":         {"Pass", "통과"},
	"verify.fail":         {"Fail", "실패"},
	"verify.signature":    {"Signature", "전자서명"},
	"verify.hashes":       {"File hashes", "파일 해시"},
	"verify.chain":        {"Audit chain segment", "감사 체인 구간"},
	"verify.figures":      {"Recomputed RTO and RPO", "RTO·RPO 재계산"},
	"verify.signature_ok": {"manifest.sig is this institution's Ed25519 signature of manifest.json (key %s).", "manifest.sig는 manifest.json에 대한 본 기관의 Ed25519 서명입니다 (키 %s)."},
	"verify.hashes_ok":    {"%d files match the SHA-256 and size the manifest lists, and it lists every file.", "파일 %d개가 매니페스트의 SHA-256·크기와 일치하며 누락된 파일이 없습니다."},
	"verify.chain_ok":     {"%d audit rows link to the chain head (row %d), and every event matches its audit row.", "감사 기록 %d건이 체인 헤드(%d번)까지 연결되고, 모든 이벤트가 감사 기록과 일치합니다."},
	"verify.figures_ok":   {"%d RTO and RPO figures are the ones the events' raw inputs give.", "RTO·RPO 수치 %d개가 이벤트 원자료로 다시 계산한 값과 일치합니다."},
	"verify.problem_file": {"File", "파일"},
	"verify.offline":      {"Repeat the check offline", "오프라인에서 다시 확인하기"},
	"verify.offline_intro": {"With nothing but unzip, jq, sha256sum and OpenSSL 3, in the directory holding the bundle (report.zip) and the public key (key.pub):",
		"unzip, jq, sha256sum, OpenSSL 3만으로 확인할 수 있습니다. 번들(report.zip)과 공개키(key.pub)가 있는 디렉터리에서 실행하십시오:"},
	"verify.offline_note": {"Every line must print OK and the last \"Signature Verified Successfully\". The signature covers manifest.json, and manifest.json the hash of every other file.", "모든 줄에 OK가, 마지막에 \"Signature Verified Successfully\"가 출력되어야 합니다. 서명은 manifest.json을, manifest.json은 나머지 모든 파일의 해시를 보증합니다."},
	"verify.key":          {"Public key", "공개키"},
	"verify.key_download": {"Download the public key (key.pub, PEM)", "공개키 내려받기 (key.pub, PEM)"},
	"verify.no_key":       {"This server signs no reports, so there is no key to verify against.", "이 서버에는 보고서 서명키가 없어 검증할 수 없습니다."},

	"err.too_large":    {"The file is too large", "파일이 너무 큽니다"},
	"err.too_large_is": {"A bundle may be at most %s.", "번들은 최대 %s까지 올릴 수 있습니다."},
	"err.scope_run":    {"As an auditor you read the drills a published report covers, and no published report covers this one.", "감사인은 공개된 보고서가 다루는 훈련만 열람할 수 있으며, 이 훈련은 공개된 보고서에 포함되어 있지 않습니다."},
	"err.portal":       {"Go to the published reports", "공개 보고서로 이동"},
}

func init() { addMessages(portalMessages) }

// portalRuns bounds the drills listed under each report; the bundle lists them all.
const portalRuns = 100

// offlineCommands are the commands that repeat the check of a bundle offline, one a line, as
// the verify page shows them: the manifest's sums checked by sha256sum, then its signature by
// OpenSSL.
var offlineCommands = []string{
	"unzip -o report.zip -d report && cd report",
	`jq -r '.files[] | "\(.sha256)  \(.name)"' manifest.json | sha256sum -c`,
	"openssl pkeyutl -verify -pubin -inkey ../key.pub -rawin -in manifest.json -sigfile manifest.sig",
}

// portalOnly tells whether the portal is all of the console the caller reaches: every role
// it acts with is the auditor's. Its home is /portal, and its navigation the portal's.
func portalOnly(c *control.Caller) bool {
	return c != nil && len(c.Roles) > 0 && !slices.ContainsFunc(c.Roles, func(r string) bool { return r != drills.RoleAuditor })
}

// errToPortal sends a portal-only caller from a page that is not theirs to the portal.
var errToPortal = &redirectError{to: "/portal"}

// redirectError is a page's answer that the browser belongs elsewhere.
type redirectError struct{ to string }

func (e *redirectError) Error() string { return "see " + e.to }

// scopeText says, in lang, why a caller whose op is narrowed was refused; msg is control's
// message, shown when the console has no text of its own for op.
func scopeText(lang string, op control.Operation, msg string) string {
	if op == control.OpRunRead {
		return tr(lang, "err.scope_run")
	}
	return msg
}

// ---- published reports -----------------------------------------------------------------

type portalData struct {
	Reports []portalReport
}

// portalReport is one published report with the drills it covers.
type portalReport struct {
	Report *control.ReportView
	Runs   *control.ReportRuns
	// More is true when the report covers more drills than are listed.
	More bool
}

func (h *handler) portal(q *req) (string, string, any, error) {
	q.need(control.OpReportRead)
	ctl := h.cfg.Control
	list, err := ctl.ReportList(q.ctx, q.caller, &control.ReportListParams{State: "published"})
	if err != nil {
		return "", "", nil, err
	}
	d := &portalData{}
	for _, r := range list {
		runs, err := ctl.ReportRuns(q.ctx, q.caller, &control.ReportRunsParams{ID: r.ID, Limit: portalRuns})
		if err != nil {
			return "", "", nil, err
		}
		d.Reports = append(d.Reports, portalReport{Report: r, Runs: runs, More: runs.Total > int64(len(runs.Runs))})
	}
	return "portal", "portal.title", d, nil
}

// ---- verifying a bundle ----------------------------------------------------------------

type verifyData struct {
	Key      *control.PublicKeyView
	MaxSize  int64
	Commands []string
	// File and Result are the upload's, after a POST.
	File   string
	Result *verification
	// noKey is why Key is nil: the server signs no reports.
	noKey error
}

// verification is a bundle's verification as the page shows it: one row per check.
type verification struct {
	V      *report.Verification
	Checks []verifyCheck
}

type verifyCheck struct {
	// Name is the check's message key; Summary what held, when it did.
	Name     string
	Failed   bool
	Summary  string
	Problems []report.Problem
}

func (h *handler) verifyForm(q *req) (string, string, any, error) {
	d, err := h.verifyPage(q)
	if err != nil {
		return "", "", nil, err
	}
	return "verify", "verify.title", d, nil
}

// verifyPage is the verify page without a result: the key that signs this server's bundles
// (which authorizes report.verify) and the offline commands.
func (h *handler) verifyPage(q *req) (*verifyData, error) {
	q.need(control.OpReportVerify)
	key, err := h.cfg.Control.ReportPublicKey(q.ctx, q.caller)
	if err != nil && control.CategoryOf(err) != control.CategoryConflict {
		return nil, err
	}
	return &verifyData{Key: key, MaxSize: h.cfg.MaxBundleSize, Commands: offlineCommands, noKey: err}, nil
}

// verifyUpload verifies an uploaded bundle: the file is streamed to a temporary file (removed
// when the page is rendered), bounded by Config.MaxBundleSize, and verified by control.
func (h *handler) verifyUpload(w http.ResponseWriter, r *http.Request) {
	q, ok := h.request(w, r)
	if !ok {
		return
	}
	// Authorized before the upload is read: a caller who may not verify sends nothing more.
	d, err := h.verifyPage(q)
	if err == nil {
		err = d.noKey // nothing to verify against: the upload is not read
	}
	if err != nil {
		h.fail(w, q, err)
		return
	}
	limit := h.cfg.MaxBundleSize
	tooLargePage := func() {
		h.render(w, q, http.StatusRequestEntityTooLarge, "error", "err.too_large", &errorPage{
			Status: http.StatusRequestEntityTooLarge, Message: fmt.Sprintf(tr(q.lang, "err.too_large_is"), sizeText(limit)), Back: "/portal/verify"})
	}
	// The form's other fields are a few hundred bytes: a declared length far above the limit
	// is refused before anything is read.
	const formOverhead = 64 << 10
	if r.ContentLength > limit+formOverhead {
		tooLargePage()
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit+formOverhead)
	f, name, size, err := receiveBundle(r, limit)
	if f != nil {
		defer func() {
			f.Close()
			os.Remove(f.Name())
		}()
	}
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge) || errors.Is(err, errBundleTooLarge):
		tooLargePage()
		return
	case err != nil:
		h.fail(w, q, err)
		return
	}
	v, err := h.cfg.Control.ReportVerify(q.ctx, q.caller, f, size)
	if err != nil {
		h.fail(w, q, err)
		return
	}
	fp := ""
	if d.Key != nil {
		fp = d.Key.Fingerprint
	}
	d.File, d.Result = name, verificationOf(q, v, fp)
	h.render(w, q, http.StatusOK, "verify", "verify.title", d)
}

var errBundleTooLarge = errors.New("the bundle is larger than the server verifies")

// receiveBundle streams the form's bundle field, at most limit bytes, to a temporary file and
// returns it with the file's name and size. The form's other fields (its CSRF token) are
// skipped.
func receiveBundle(r *http.Request, limit int64) (*os.File, string, int64, error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, "", 0, errorf(control.CategoryInvalid, "bundle", "the form is not an upload (multipart/form-data): choose the bundle's file and send the form")
	}
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil, "", 0, errorf(control.CategoryInvalid, "bundle", "no file was uploaded: choose the report bundle (.zip)")
		}
		if err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				return nil, "", 0, err
			}
			return nil, "", 0, errorf(control.CategoryInvalid, "bundle", "the upload could not be read: %v", err)
		}
		if p.FormName() != "bundle" {
			continue
		}
		f, err := os.CreateTemp("", "firedrill-verify-*.zip")
		if err != nil {
			return nil, "", 0, err
		}
		n, err := io.Copy(f, io.LimitReader(p, limit+1))
		switch {
		case err != nil:
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				return f, "", 0, err
			}
			return f, "", 0, errorf(control.CategoryInvalid, "bundle", "the upload was cut short: %v", err)
		case n > limit:
			return f, "", 0, errBundleTooLarge
		case n == 0:
			return f, "", 0, errorf(control.CategoryInvalid, "bundle", "the uploaded file is empty: choose the report bundle (.zip)")
		}
		name := p.FileName()
		if name == "" {
			name = "bundle"
		}
		return f, name, n, nil
	}
}

// verificationOf sorts a verification's problems under the check that found them; fp is the
// fingerprint of the key it was checked against.
func verificationOf(q *req, v *report.Verification, fp string) *verification {
	out := &verification{V: v}
	for _, check := range report.Checks {
		c := verifyCheck{Name: "verify." + check, Failed: v.Failed(check)}
		for _, p := range v.Problems {
			if p.Check == check {
				c.Problems = append(c.Problems, p)
			}
		}
		if !c.Failed {
			switch check {
			case report.CheckSignature:
				c.Summary = fmt.Sprintf(tr(q.lang, "verify.signature_ok"), fp)
			case report.CheckHashes:
				c.Summary = fmt.Sprintf(tr(q.lang, "verify.hashes_ok"), v.Files)
			case report.CheckChain:
				c.Summary = fmt.Sprintf(tr(q.lang, "verify.chain_ok"), v.AuditRows, v.AuditHead.Seq)
			case report.CheckFigures:
				c.Summary = fmt.Sprintf(tr(q.lang, "verify.figures_ok"), v.Figures)
			}
		}
		out.Checks = append(out.Checks, c)
	}
	return out
}

// publicKey downloads the public key that verifies this server's bundles, as key.pub.
func (h *handler) publicKey(w http.ResponseWriter, r *http.Request) {
	q, ok := h.request(w, r)
	if !ok {
		return
	}
	q.need(control.OpReportVerify)
	key, err := h.cfg.Control.ReportPublicKey(q.ctx, q.caller)
	if err != nil {
		h.fail(w, q, err)
		return
	}
	w.Header().Set("Content-Type", "application/x-pem-file")
	w.Header().Set("Content-Disposition", `attachment; filename="key.pub"`)
	w.Header().Set("Cache-Control", "no-store")
	_, _ = io.WriteString(w, key.PEM)
}
