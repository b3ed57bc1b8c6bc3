package gormstore_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/gormstore"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
	"github.com/firebreakhq/firebreak/incident/pgtest"
)

// BenchmarkRecordDeliveries measures the background write that remembers
// the signatures of accepted Slack requests: batches of 50 new ones, per
// delivery, on SQLite and PostgreSQL.
//
//	go test ./incident/gormstore -run '^$' -bench RecordDeliveries
func BenchmarkRecordDeliveries(b *testing.B) {
	for _, key := range []string{"signature", "timestamp-first"} {
		b.Run("sqlite/"+key, func(b *testing.B) { benchDeliveries(b, "sqlite:"+filepath.Join(b.TempDir(), "firebreak.db"), key) })
		b.Run("postgres/"+key, func(b *testing.B) { benchDeliveries(b, pgtest.DSN(b), key) })
	}
}

func benchDeliveries(b *testing.B, url, key string) {
	ctx := context.Background()
	store := gormstore.New(openBenchDB(b, url), incidenttest.NewClock(incidenttest.Epoch()))
	const batch = 50
	ds := make([]incident.Delivery, batch)
	b.ResetTimer()
	for i := 0; i < b.N; i += batch {
		for j := range ds {
			sig := sha256.Sum256([]byte(strconv.Itoa(i + j)))
			id := fmt.Sprintf("v0=%x", sig)
			if key == "timestamp-first" {
				id = fmt.Sprintf("%d:%x", 1733230000+(i+j)/1000, sig[:16])
			}
			ds[j] = incident.Delivery{Source: "slack-signature", ID: id, ReceivedAt: incidenttest.Epoch()}
		}
		if _, err := store.RecordDeliveries(ctx, ds); err != nil {
			b.Fatal(err)
		}
	}
}
