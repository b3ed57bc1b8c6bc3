package gormstore_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/gormstore"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
	"github.com/firebreakhq/firebreak/incident/pgtest"
)

// BenchmarkRecordReplayBatch measures the background write that shares the
// signatures of accepted Slack requests with the other processes: batches
// of 50, one row each, per signature, on SQLite and PostgreSQL.
//
//	go test ./incident/gormstore -run '^$' -bench RecordReplayBatch
func BenchmarkRecordReplayBatch(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchReplayBatch(b, "sqlite:"+filepath.Join(b.TempDir(), "firebreak.db")) })
	b.Run("postgres", func(b *testing.B) { benchReplayBatch(b, pgtest.DSN(b)) })
}

func benchReplayBatch(b *testing.B, url string) {
	ctx := context.Background()
	store := gormstore.New(openBenchDB(b, url), incidenttest.NewClock(incidenttest.Epoch()))
	const batch = 50
	keys := make([]string, batch)
	b.ResetTimer()
	for i := 0; i < b.N; i += batch {
		for j := range keys {
			sig := sha256.Sum256(fmt.Appendf(nil, "%d", i+j))
			keys[j] = fmt.Sprintf("%d:%x", 1733230000+(i+j)/1000, sig[:16])
		}
		if err := store.RecordReplayBatch(ctx, incident.ReplayBatch{Instance: "bench", Keys: keys}); err != nil {
			b.Fatal(err)
		}
	}
}
