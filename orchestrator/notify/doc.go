// Package notify tells people and systems what a drill is doing: an approval is needed, a run
// started, a stop condition was breached, a run ended, a service is overdue for its drill.
//
// It delivers through three kinds of channel: a webhook (a signed JSON POST), a
// Slack-compatible incoming webhook (a one-line text) and email (SMTP, optionally STARTTLS).
//
// # Never blocking a drill
//
// Notify does not send anything. It writes one row per matching channel to the store's
// notifications table (an outbox) and returns; the sender loop started by Start claims due rows,
// sends them and records the outcome. A failed send is retried with exponential backoff
// (Backoff, doubling, capped at MaxBackoff) until MaxAttempts, after which the row is marked
// failed and the failure is logged. A slow, hanging or failing receiver therefore delays only
// other notifications, never the run; a restart loses nothing, since the rows are durable. Rows
// are claimed with a lease (store.NotificationClaimLease), so several replicas can run the
// sender loop without sending the same notification at the same time. Delivery is at least
// once: a replica that dies between sending and recording causes a resend, so each delivery
// carries the notification's ID (X-Firedrill-Delivery, the email's Message-ID) for receivers
// to de-duplicate.
//
// # Webhook signatures
//
// A webhook request carries:
//
//	X-Firedrill-Event:     the event kind, e.g. run_ended
//	X-Firedrill-Delivery:  the notification ID, identical across retries
//	X-Firedrill-Timestamp: the send time in Unix seconds (decimal)
//	X-Firedrill-Signature: sha256=<hex HMAC-SHA256(key, timestamp + "." + body)>
//
// where body is the exact request body. A receiver recomputes the HMAC over the raw body with
// the shared key (VerifySignature does it, in constant time) and should reject requests whose
// timestamp is far from its own clock (say more than five minutes), which bounds replays.
// Each retry is signed afresh with a new timestamp.
//
// # Secrets
//
// The HMAC key, the Slack webhook URL (which is itself a credential) and the SMTP password are
// configured as secret.Ref and resolved at send time, so a rotated file is picked up. Their
// values never enter the stored payload, a log line or an error: errors that a transport
// builds around them (a url.Error quoting the Slack URL, say) are scrubbed before they are
// recorded or logged.
//
// The package owns no SQL (the store does) and never touches a site.
package notify
