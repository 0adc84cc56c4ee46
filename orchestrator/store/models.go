package store

import (
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"time"
)

// The gorm models mirror migrations/*/*.sql column for column; the migration test
// checks that they agree. Convention: a column is nullable exactly when its field is a pointer.

// jsonDoc is a JSON document column (jsonb on PostgreSQL, TEXT on SQLite). It is written as a
// string so that SQLite stores TEXT (json_valid accepts it) rather than a BLOB.
type jsonDoc []byte

// Value implements driver.Valuer.
func (d jsonDoc) Value() (driver.Value, error) {
	if d == nil {
		return nil, nil
	}
	return string(d), nil
}

// Scan implements sql.Scanner.
func (d *jsonDoc) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*d = nil
	case string:
		*d = jsonDoc(v)
	case []byte:
		*d = append(jsonDoc(nil), v...)
	default:
		return fmt.Errorf("scan json column: unsupported type %T", src)
	}
	return nil
}

// jsonDocOf returns raw as a nullable column value: nil for an empty document.
func jsonDocOf(raw json.RawMessage) *jsonDoc {
	if len(raw) == 0 {
		return nil
	}
	d := jsonDoc(raw)
	return &d
}

func rawOf(d *jsonDoc) json.RawMessage {
	if d == nil || len(*d) == 0 {
		return nil
	}
	return json.RawMessage(append([]byte(nil), *d...))
}

func mustJSON(v any) jsonDoc {
	b, err := json.Marshal(v)
	if err != nil {
		// Only called with values built here from plain structs, maps and slices.
		panic(fmt.Sprintf("store: marshal %T: %v", v, err))
	}
	return jsonDoc(b)
}

type estateSnapshotModel struct {
	SHA256    string    `gorm:"column:sha256;primaryKey"`
	File      string    `gorm:"column:file"`
	Source    string    `gorm:"column:source"`
	CreatedAt time.Time `gorm:"column:created_at"`
}

func (estateSnapshotModel) TableName() string { return "estate_snapshots" }

type siteModel struct {
	Name            string    `gorm:"column:name;primaryKey"`
	Role            string    `gorm:"column:role"`
	Ingress         string    `gorm:"column:ingress"`
	NomadAddress    string    `gorm:"column:nomad_address"`
	NomadRegion     string    `gorm:"column:nomad_region"`
	NomadDatacenter string    `gorm:"column:nomad_datacenter"`
	NomadNamespace  string    `gorm:"column:nomad_namespace"`
	TokenRef        string    `gorm:"column:token_ref"`
	Databases       jsonDoc   `gorm:"column:databases"`
	EstateSHA256    string    `gorm:"column:estate_sha256"`
	UpdatedAt       time.Time `gorm:"column:updated_at"`
}

func (siteModel) TableName() string { return "sites" }

type serviceModel struct {
	Name         string    `gorm:"column:name;primaryKey"`
	Description  string    `gorm:"column:description"`
	Owner        string    `gorm:"column:owner"`
	Criticality  string    `gorm:"column:criticality"`
	RTOMS        int64     `gorm:"column:rto_ms"`
	RPOMS        int64     `gorm:"column:rpo_ms"`
	DependsOn    jsonDoc   `gorm:"column:depends_on"`
	NomadJob     string    `gorm:"column:nomad_job"`
	Checks       jsonDoc   `gorm:"column:checks"`
	Canary       *jsonDoc  `gorm:"column:canary"`
	EstateSHA256 string    `gorm:"column:estate_sha256"`
	UpdatedAt    time.Time `gorm:"column:updated_at"`
}

func (serviceModel) TableName() string { return "services" }

type planModel struct {
	ID        string    `gorm:"column:id;primaryKey"`
	Name      string    `gorm:"column:name"`
	File      string    `gorm:"column:file"`
	SHA256    string    `gorm:"column:sha256"`
	Source    string    `gorm:"column:source"`
	CreatedAt time.Time `gorm:"column:created_at"`
}

func (planModel) TableName() string { return "plans" }

type runModel struct {
	ID              string     `gorm:"column:id;primaryKey"`
	PlanID          string     `gorm:"column:plan_id"`
	PlanName        string     `gorm:"column:plan_name"`
	EstateSHA256    string     `gorm:"column:estate_sha256"`
	FromSite        string     `gorm:"column:from_site"`
	ToSite          string     `gorm:"column:to_site"`
	State           string     `gorm:"column:state"`
	StateReason     string     `gorm:"column:state_reason"`
	CreatedAt       time.Time  `gorm:"column:created_at"`
	StartedAt       *time.Time `gorm:"column:started_at"`
	EndedAt         *time.Time `gorm:"column:ended_at"`
	T0              *time.Time `gorm:"column:t0"`
	T1              *time.Time `gorm:"column:t1"`
	RTOActualMS     *int64     `gorm:"column:rto_actual_ms"`
	ObjectivesMet   *bool      `gorm:"column:objectives_met"`
	LeaseOwner      string     `gorm:"column:lease_owner"`
	LeaseEpoch      int64      `gorm:"column:lease_epoch"`
	LeaseExpiresAt  *time.Time `gorm:"column:lease_expires_at"`
	LeaseDurationMS int64      `gorm:"column:lease_duration_ms"`
	UpdatedAt       time.Time  `gorm:"column:updated_at"`
	// Added by 00003_engine.
	ScheduleName     *string    `gorm:"column:schedule_name"`
	FireTime         *time.Time `gorm:"column:fire_time"`
	ApprovalPolicy   *jsonDoc   `gorm:"column:approval_policy"`
	ApprovalDeadline *time.Time `gorm:"column:approval_deadline"`
	AbortRequestedAt *time.Time `gorm:"column:abort_requested_at"`
	AbortReason      string     `gorm:"column:abort_reason"`
	// Added by 00004_event_seq: the last timeline number given out.
	EventSeq int64 `gorm:"column:event_seq"`
	// Added by 00005_control_plane.
	PlanSHA256         string    `gorm:"column:plan_sha256"`
	RequestedBy        actorCols `gorm:"embedded;embeddedPrefix:requested_"`
	Forced             bool      `gorm:"column:forced"`
	AbortBy            actorCols `gorm:"embedded;embeddedPrefix:abort_by_"`
	AbortStopCondition string    `gorm:"column:abort_stop_condition"`
	// Added by 00008_run_version: the firedrill build that created the run.
	FiredrillVersion string `gorm:"column:firedrill_version"`
	FiredrillCommit  string `gorm:"column:firedrill_commit"`
}

func (runModel) TableName() string { return "runs" }

type stepResultModel struct {
	ID         string     `gorm:"column:id;primaryKey"`
	RunID      string     `gorm:"column:run_id"`
	Seq        int        `gorm:"column:seq"`
	StepKey    string     `gorm:"column:step_key"`
	StepName   string     `gorm:"column:step_name"`
	Action     string     `gorm:"column:action"`
	Site       string     `gorm:"column:site"`
	Service    string     `gorm:"column:service"`
	Attempt    int        `gorm:"column:attempt"`
	State      string     `gorm:"column:state"`
	Idempotent bool       `gorm:"column:idempotent"`
	TimeoutMS  int64      `gorm:"column:timeout_ms"`
	StartedAt  time.Time  `gorm:"column:started_at"`
	EndedAt    *time.Time `gorm:"column:ended_at"`
	DurationMS *int64     `gorm:"column:duration_ms"`
	Error      string     `gorm:"column:error"`
	Evidence   *jsonDoc   `gorm:"column:evidence"`
}

func (stepResultModel) TableName() string { return "step_results" }

type measurementModel struct {
	ID             string     `gorm:"column:id;primaryKey"`
	RunID          string     `gorm:"column:run_id"`
	Service        string     `gorm:"column:service"`
	Criticality    string     `gorm:"column:criticality"`
	RTOObjectiveMS int64      `gorm:"column:rto_objective_ms"`
	RTOActualMS    *int64     `gorm:"column:rto_actual_ms"`
	Restored       bool       `gorm:"column:restored"`
	RestoredAt     *time.Time `gorm:"column:restored_at"`
	RTOMet         bool       `gorm:"column:rto_met"`
	RPOObjectiveMS int64      `gorm:"column:rpo_objective_ms"`
	RPOActualMS    *int64     `gorm:"column:rpo_actual_ms"`
	RPOLostRows    *int64     `gorm:"column:rpo_lost_rows"`
	RPOMet         *bool      `gorm:"column:rpo_met"`
	ResolutionMS   int64      `gorm:"column:resolution_ms"`
	Reason         string     `gorm:"column:reason"`
	Evidence       *jsonDoc   `gorm:"column:evidence"`
}

func (measurementModel) TableName() string { return "measurements" }

type runEventModel struct {
	ID      int64     `gorm:"column:id;primaryKey;autoIncrement"`
	RunID   string    `gorm:"column:run_id"`
	Seq     int       `gorm:"column:seq"`
	At      time.Time `gorm:"column:at"`
	Kind    string    `gorm:"column:kind"`
	StepKey string    `gorm:"column:step_key"`
	Message string    `gorm:"column:message"`
	Data    *jsonDoc  `gorm:"column:data"`
	// AuditedInline marks an event whose audit row its own statement appended (PostgreSQL's
	// step functions, migration 00010). Read-only here: the store never writes it through
	// gorm, and the runtime role may not write it at all.
	AuditedInline bool `gorm:"column:audited_inline;->"`
}

func (runEventModel) TableName() string { return "run_events" }

// allModels lists every model, for the migration agreement test.
func allModels() []any {
	return []any{
		&estateSnapshotModel{}, &siteModel{}, &serviceModel{}, &planModel{},
		&runModel{}, &stepResultModel{}, &measurementModel{}, &runEventModel{},
		&stepDecisionModel{},
		&scheduleModel{}, &scheduleFireModel{}, &leaseModel{}, &userModel{}, &approvalModel{},
		&freezeModel{}, &notificationModel{},
		&roleGrantModel{}, &apiTokenModel{}, &operationModel{},
		&auditModel{}, &auditHeadModel{}, &auditPendingModel{},
		&schedulerReplicaModel{},
		&reportModel{}, &reportChunkModel{}, &reportRunModel{},
		&findingModel{}, &findingUpdateModel{}, &runParticipantModel{}, &runNoteModel{},
		&consoleSessionModel{},
	}
}

func msOf(d time.Duration) int64 { return d.Milliseconds() }

func msPtr(d *time.Duration) *int64 {
	if d == nil {
		return nil
	}
	v := d.Milliseconds()
	return &v
}

func durOf(ms int64) time.Duration { return time.Duration(ms) * time.Millisecond }

func durPtr(ms *int64) *time.Duration {
	if ms == nil {
		return nil
	}
	v := durOf(*ms)
	return &v
}

type stepDecisionModel struct {
	ID        string    `gorm:"column:id;primaryKey"`
	RunID     string    `gorm:"column:run_id"`
	StepID    string    `gorm:"column:step_id"`
	StepKey   string    `gorm:"column:step_key"`
	Decision  string    `gorm:"column:decision"`
	DecidedBy actorCols `gorm:"embedded;embeddedPrefix:decided_by_"`
	Comment   string    `gorm:"column:comment"`
	DecidedAt time.Time `gorm:"column:decided_at"`
}

func (stepDecisionModel) TableName() string { return "step_decisions" }

type scheduleModel struct {
	Name         string     `gorm:"column:name;primaryKey"`
	PlanName     string     `gorm:"column:plan_name"`
	PlanFile     string     `gorm:"column:plan_file"`
	Spec         jsonDoc    `gorm:"column:spec"`
	Paused       bool       `gorm:"column:paused"`
	PausedBy     actorCols  `gorm:"embedded;embeddedPrefix:paused_by_"`
	PausedReason string     `gorm:"column:paused_reason"`
	PausedAt     *time.Time `gorm:"column:paused_at"`
	LastFireTime *time.Time `gorm:"column:last_fire_time"`
	NextFireTime *time.Time `gorm:"column:next_fire_time"`
	UpdatedAt    time.Time  `gorm:"column:updated_at"`
}

func (scheduleModel) TableName() string { return "schedules" }

type scheduleFireModel struct {
	ScheduleName string    `gorm:"column:schedule_name;primaryKey"`
	FireTime     time.Time `gorm:"column:fire_time;primaryKey"`
	Decision     string    `gorm:"column:decision"`
	Reason       string    `gorm:"column:reason"`
	RunID        *string   `gorm:"column:run_id"`
	DecidedBy    string    `gorm:"column:decided_by"`
	DecidedAt    time.Time `gorm:"column:decided_at"`
}

func (scheduleFireModel) TableName() string { return "schedule_fires" }

type leaseModel struct {
	Name      string    `gorm:"column:name;primaryKey"`
	Owner     string    `gorm:"column:owner"`
	Epoch     int64     `gorm:"column:epoch"`
	ExpiresAt time.Time `gorm:"column:expires_at"`
	UpdatedAt time.Time `gorm:"column:updated_at"`
}

func (leaseModel) TableName() string { return "leases" }

type schedulerReplicaModel struct {
	Owner     string    `gorm:"column:owner;primaryKey"`
	StartedAt time.Time `gorm:"column:started_at"`
	SeenAt    time.Time `gorm:"column:seen_at"`
}

func (schedulerReplicaModel) TableName() string { return "scheduler_replicas" }

type userModel struct {
	Name       string     `gorm:"column:name;primaryKey"`
	Roles      jsonDoc    `gorm:"column:roles"`
	Disabled   bool       `gorm:"column:disabled"`
	CreatedAt  time.Time  `gorm:"column:created_at"`
	UpdatedAt  time.Time  `gorm:"column:updated_at"`
	CreatedBy  actorCols  `gorm:"embedded;embeddedPrefix:created_by_"`
	DisabledAt *time.Time `gorm:"column:disabled_at"`
	DisabledBy actorCols  `gorm:"embedded;embeddedPrefix:disabled_by_"`
	// PasswordHash is the argon2id PHC string of a local account's password; empty when the
	// user has none (they sign in through the identity provider, or only use tokens).
	PasswordHash  string     `gorm:"column:password_hash"`
	PasswordSetAt *time.Time `gorm:"column:password_set_at"`
	OIDCIssuer    string     `gorm:"column:oidc_issuer"`
	OIDCSubject   string     `gorm:"column:oidc_subject"`
}

func (userModel) TableName() string { return "users" }

type approvalModel struct {
	ID        string    `gorm:"column:id;primaryKey"`
	RunID     string    `gorm:"column:run_id"`
	Approver  actorCols `gorm:"embedded;embeddedPrefix:approver_"`
	Roles     jsonDoc   `gorm:"column:roles"`
	Decision  string    `gorm:"column:decision"`
	Comment   string    `gorm:"column:comment"`
	DecidedAt time.Time `gorm:"column:decided_at"`
}

func (approvalModel) TableName() string { return "approvals" }

type freezeModel struct {
	ID       string     `gorm:"column:id;primaryKey"`
	Reason   string     `gorm:"column:reason"`
	SetBy    actorCols  `gorm:"embedded;embeddedPrefix:set_by_"`
	SetAt    time.Time  `gorm:"column:set_at"`
	LiftedBy actorCols  `gorm:"embedded;embeddedPrefix:lifted_by_"`
	LiftedAt *time.Time `gorm:"column:lifted_at"`
}

func (freezeModel) TableName() string { return "freezes" }

type notificationModel struct {
	ID            string     `gorm:"column:id;primaryKey"`
	RunID         *string    `gorm:"column:run_id"`
	Event         string     `gorm:"column:event"`
	Channel       string     `gorm:"column:channel"`
	Payload       jsonDoc    `gorm:"column:payload"`
	State         string     `gorm:"column:state"`
	Attempts      int        `gorm:"column:attempts"`
	NextAttemptAt time.Time  `gorm:"column:next_attempt_at"`
	LastError     string     `gorm:"column:last_error"`
	CreatedAt     time.Time  `gorm:"column:created_at"`
	SentAt        *time.Time `gorm:"column:sent_at"`
}

func (notificationModel) TableName() string { return "notifications" }

type roleGrantModel struct {
	ID       string    `gorm:"column:id;primaryKey"`
	UserName string    `gorm:"column:user_name"`
	Role     string    `gorm:"column:role"`
	Change   string    `gorm:"column:change"`
	By       actorCols `gorm:"embedded;embeddedPrefix:by_"`
	At       time.Time `gorm:"column:at"`
}

func (roleGrantModel) TableName() string { return "role_grants" }

type apiTokenModel struct {
	ID          string     `gorm:"column:id;primaryKey"`
	UserName    string     `gorm:"column:user_name"`
	Description string     `gorm:"column:description"`
	SecretHash  string     `gorm:"column:secret_hash"`
	Roles       jsonDoc    `gorm:"column:roles"`
	CreatedAt   time.Time  `gorm:"column:created_at"`
	CreatedBy   actorCols  `gorm:"embedded;embeddedPrefix:created_by_"`
	ExpiresAt   time.Time  `gorm:"column:expires_at"`
	LastUsedAt  *time.Time `gorm:"column:last_used_at"`
	RevokedAt   *time.Time `gorm:"column:revoked_at"`
	RevokedBy   actorCols  `gorm:"embedded;embeddedPrefix:revoked_by_"`
}

func (apiTokenModel) TableName() string { return "api_tokens" }

type operationModel struct {
	ID        int64     `gorm:"column:id;primaryKey;autoIncrement"`
	At        time.Time `gorm:"column:at"`
	Actor     actorCols `gorm:"embedded;embeddedPrefix:actor_"`
	Operation string    `gorm:"column:operation"`
	Target    string    `gorm:"column:target"`
	Outcome   string    `gorm:"column:outcome"`
	Message   string    `gorm:"column:message"`
	Detail    *jsonDoc  `gorm:"column:detail"`
}

func (operationModel) TableName() string { return "operations" }
