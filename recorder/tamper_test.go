package recorder

import (
	"context"
	"crypto/ed25519"
	"testing"

	"github.com/airlockhq/airlock/internal/store"
)

// tampered is a store with a known layout, attacked through SQL: events
// 1..250 (a session start, then intent/outcome pairs: intents at even
// seqs), checkpoints at 100 and 200 with the signed head at 200, and an
// unsealed tail 201..250 (the recorder is abandoned, as if it crashed).
type tampered struct {
	*fixture
	key ed25519.PrivateKey
}

func setupTamper(t *testing.T, b backend) *tampered {
	fx := openFixture(t, b)
	key := newKey(t)
	r := newRecorder(t, fx.st, key, Options{CheckpointEvery: 100})
	appendN(t, r, "sess_t", 250)
	cps, err := fx.st.Checkpoints(context.Background())
	if err != nil || len(cps) != 2 || cps[0].Seq != 100 || cps[1].Seq != 200 {
		t.Fatalf("layout: checkpoints %+v, %v; want 100 and 200", cps, err)
	}
	return &tampered{fixture: fx, key: key}
}

func (tp *tampered) verify(t *testing.T) *Report { return verify(t, tp.st, VerifyOptions{}, tp.key) }

// rehash recomputes hashes and links from seq from to the end, as an
// attacker who knows the (public) algorithm would, and moves the head.
func (tp *tampered) rehash(t *testing.T, from, to int64) string {
	t.Helper()
	recs, err := tp.st.Events(context.Background(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	prev := GenesisHash
	for _, r := range recs {
		if r.Seq >= from && r.Seq <= to {
			e := FromRecord(r)
			e.PrevHash = prev
			h := HashEvent(e)
			tp.exec(t, "UPDATE audit_events SET prev_hash = $1, hash = $2 WHERE seq = $3", prev, h, r.Seq)
			r.Hash = h
		}
		prev = r.Hash
	}
	tp.exec(t, "UPDATE audit_head SET hash = $1", prev)
	return prev
}

func (tp *tampered) hashAt(t *testing.T, seq int64) string {
	t.Helper()
	recs, err := tp.st.Events(context.Background(), seq-1, 1)
	if err != nil || len(recs) != 1 {
		t.Fatalf("read seq %d: %v", seq, err)
	}
	return recs[0].Hash
}

// forge re-signs the checkpoint at seq and the signed head with key,
// labelled keyID, over the current (rewritten) hash.
func (tp *tampered) forge(t *testing.T, seq int64, key ed25519.PrivateKey, keyID string) {
	t.Helper()
	cps, _ := tp.st.Checkpoints(context.Background())
	var cp store.Checkpoint
	for _, c := range cps {
		if c.Seq == seq {
			cp = c
		}
	}
	h := tp.hashAt(t, seq)
	sig := ed25519.Sign(key, signedMessage(checkpointContext, seq, h, cp.Time))
	tp.exec(t, "UPDATE audit_checkpoints SET hash = $1, key_id = $2, signature = $3 WHERE seq = $4", h, keyID, sig, seq)
	hsig := ed25519.Sign(key, signedMessage(headContext, seq, h, cp.Time))
	tp.exec(t, "UPDATE audit_head SET signed_hash = $1, signed_key_id = $2, signed_signature = $3", h, keyID, hsig)
}

func TestTamper(t *testing.T) {
	for _, b := range backends {
		t.Run(b.driver, func(t *testing.T) {
			cases := []struct {
				name   string
				attack func(t *testing.T, tp *tampered)
				seq    int64
				kind   string
				text   string
			}{
				{"change one field", func(t *testing.T, tp *tampered) {
					tp.exec(t, "UPDATE audit_events SET subject = 'mallory' WHERE seq = 150")
				}, 150, KindModified, "hash mismatch (record was modified)"},
				{"change the arguments of an intent", func(t *testing.T, tp *tampered) {
					tp.exec(t, `UPDATE audit_events SET data = REPLACE(data, 'id = 20', 'id = 21') WHERE seq = 42`)
				}, 42, KindModified, "record was modified"},
				{"delete a record", func(t *testing.T, tp *tampered) {
					tp.exec(t, "DELETE FROM audit_events WHERE seq = 120")
				}, 120, KindMissing, "records 120..120 were deleted"},
				{"swap two records", func(t *testing.T, tp *tampered) {
					tp.exec(t, "UPDATE audit_events SET seq = -1 WHERE seq = 130")
					tp.exec(t, "UPDATE audit_events SET seq = 130 WHERE seq = 131")
					tp.exec(t, "UPDATE audit_events SET seq = 131 WHERE seq = -1")
				}, 130, KindReordered, "out of order"},
				{"change a record and re-hash it", func(t *testing.T, tp *tampered) {
					tp.exec(t, "UPDATE audit_events SET subject = 'mallory' WHERE seq = 150")
					tp.rehash(t, 150, 150)
				}, 151, KindLink, "does not link to seq 150"},
				{"change a record and re-hash the rest of the chain", func(t *testing.T, tp *tampered) {
					tp.exec(t, "UPDATE audit_events SET subject = 'mallory' WHERE seq = 150")
					tp.rehash(t, 150, 250)
				}, 200, KindCheckpoint, "events up to seq 200 were rewritten"},
				{"forge a checkpoint with another key", func(t *testing.T, tp *tampered) {
					tp.exec(t, "UPDATE audit_events SET subject = 'mallory' WHERE seq = 150")
					tp.rehash(t, 150, 250)
					k := newKey(t)
					tp.forge(t, 200, k, KeyID(k.Public().(ed25519.PublicKey)))
				}, 200, KindSignature, "signed by unknown key"},
				{"forge a checkpoint claiming the real key", func(t *testing.T, tp *tampered) {
					tp.exec(t, "UPDATE audit_events SET subject = 'mallory' WHERE seq = 150")
					tp.rehash(t, 150, 250)
					tp.forge(t, 200, newKey(t), KeyID(tp.key.Public().(ed25519.PublicKey)))
				}, 200, KindSignature, "signature is invalid"},
				{"truncate the unsealed tail", func(t *testing.T, tp *tampered) {
					tp.exec(t, "DELETE FROM audit_events WHERE seq > 200")
				}, 201, KindTruncated, "the head records seq 250 but the last event is 200"},
				{"truncate sealed events", func(t *testing.T, tp *tampered) {
					tp.exec(t, "DELETE FROM audit_events WHERE seq > 180")
				}, 181, KindTruncated, "the checkpoint at seq 200 seals events up to 200"},
				{"truncate with the checkpoint and fix the head", func(t *testing.T, tp *tampered) {
					h := tp.hashAt(t, 180)
					tp.exec(t, "DELETE FROM audit_events WHERE seq > 180")
					tp.exec(t, "DELETE FROM audit_checkpoints WHERE seq = 200")
					tp.exec(t, "UPDATE audit_head SET seq = 180, hash = $1", h)
				}, 181, KindTruncated, "the signed head seals seq 200"},
				{"hide a call from search", func(t *testing.T, tp *tampered) {
					tp.exec(t, "UPDATE audit_events SET decision = 'allow' WHERE seq = 10")
				}, 10, KindIndex, `decision "allow", but the hashed payload says "sql_query", "prod-db", "deny"`},
				{"delete the start at a checkpoint", func(t *testing.T, tp *tampered) {
					tp.exec(t, "DELETE FROM audit_events WHERE seq <= 100")
				}, 1, KindPurge, "removed without a recorded purge"},
				{"delete the start", func(t *testing.T, tp *tampered) {
					tp.exec(t, "DELETE FROM audit_events WHERE seq <= 50")
				}, 1, KindPurge, "no checkpoint at seq 50 anchors the rest"},
				{"delete the middle checkpoint", func(t *testing.T, tp *tampered) {
					tp.exec(t, "DELETE FROM audit_checkpoints WHERE seq = 200")
				}, 200, KindCheckpoint, "the checkpoint at seq 200 that the signed head names is missing"},
				{"append events outside the recorder", func(t *testing.T, tp *tampered) {
					tp.exec(t, "INSERT INTO audit_events SELECT 251, "+timeCol(tp.driver)+", type, version, call_id, session_id, subject, verified, data, tool, connection, decision, hash, hash FROM audit_events WHERE seq = 250")
					tp.rehash(t, 251, 251)
					tp.exec(t, "UPDATE audit_head SET hash = (SELECT hash FROM audit_events WHERE seq = 250)")
				}, 251, KindHead, "beyond the head"},
			}
			t.Run("untouched", func(t *testing.T) {
				tp := setupTamper(t, b)
				rep := tp.verify(t)
				wantOK(t, rep)
				if rep.Unsealed != 50 || rep.LastCheckpoint != 200 || len(rep.Warnings) == 0 {
					t.Errorf("report = %+v; want an unsealed tail of 50 after 200", rep)
				}
				rep = verify(t, tp.st, VerifyOptions{RequireSealed: true}, tp.key)
				wantProblem(t, rep, 201, KindUnsealed, "unsealed tail of 50 events")
			})
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					t.Parallel()
					tp := setupTamper(t, b)
					c.attack(t, tp)
					wantProblem(t, tp.verify(t), c.seq, c.kind, c.text)
				})
			}
		})
	}
}

func timeCol(driver string) string {
	if driver == "sqlite" {
		return "time_us"
	}
	return "time"
}
