package alerting_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/integrations/alerting"
	"github.com/firebreakhq/firebreak/integrations/webhook"
)

// ignoredCount reads firebreak_webhook_events_ignored_total of reg for
// provider and type.
func ignoredCount(t *testing.T, reg *prometheus.Registry, provider, typ string) float64 {
	t.Helper()
	families, err := reg.Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() != "firebreak_webhook_events_ignored_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["provider"] == provider && labels["type"] == typ {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// TestAlertThatCannotBeHandledIsLeftOutOfItsDelivery: one alert of a
// delivery that no retry could handle (no fingerprint, a NUL character,
// which PostgreSQL keeps in no text, a fingerprint far longer than any
// sender's, a status neither firing nor resolved, a field of the wrong
// type) is left out, logged as a warning and counted; its group-mate is
// handled and the delivery answered 200. A 400 would have dropped them
// all: Alertmanager retries a notification answered 5xx only.
func TestAlertThatCannotBeHandledIsLeftOutOfItsDelivery(t *testing.T) {
	t.Parallel()
	body := fixture(t, "alertmanager_v4.json")
	auth := map[string]string{"Authorization": "Bearer am-token"}
	for name, bad := range map[string][]byte{
		"no fingerprint":       bytes.Replace(body, []byte(`"fingerprint": "0b2c9e77a1f04d3e"`), []byte(`"fingerprint": ""`), 1),
		"NUL in an annotation": bytes.Replace(body, []byte(`"checkout p99 above 1s"`), []byte(`"checkout p99 above 1s\u0000"`), 1),
		"NUL in a label":       bytes.Replace(body, []byte(`"severity": "warning"`), []byte(`"severity": "warning\u0000"`), 1),
		"NUL in a label name":  bytes.Replace(body, []byte(`"severity": "warning"`), []byte(`"sever\u0000ity": "warning"`), 1),
		"NUL in the link":      bytes.Replace(body, []byte(`g0.expr=checkout_p99"`), []byte(`g0.expr=checkout_p99\u0000"`), 1),
		"huge fingerprint":     bytes.Replace(body, []byte(`"0b2c9e77a1f04d3e"`), []byte(`"`+strings.Repeat("0b2c9e77a1f04d3e", 200)+`"`), 1),
		"unknown status":       bytes.Replace(body, []byte(`"status": "resolved"`), []byte(`"status": "pending"`), 1),
		"startsAt not a time":  bytes.Replace(body, []byte(`"startsAt": "2026-08-07T13:58:00Z"`), []byte(`"startsAt": 42`), 1),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			require.NotEqual(t, body, bad)
			s := &sink{}
			var logs strings.Builder
			reg := prometheus.NewRegistry()
			h := alerting.NewAlertmanagerHandler(alerting.Auth{Tokens: []string{"am-token"}}, s.take,
				slog.New(slog.NewTextHandler(&logs, nil)), alerting.WithIgnored(webhook.NewIgnored(reg)))
			status, answer := postAnswer(t, h, bad, auth)
			require.Equal(t, http.StatusOK, status, answer)
			require.Len(t, s.got, 1, "its group-mate is handled")
			require.Equal(t, "5f1b4ac8e2a3d9c1", s.got[0].Fingerprint)
			require.Contains(t, logs.String(), "level=WARN msg=\"alert left out of the delivery")
			require.Contains(t, logs.String(), "index=1")
			require.Equal(t, 1.0, ignoredCount(t, reg, "alertmanager", "invalid_alert"))
		})
	}
}

// TestGrafanaAlertThatCannotBeHandledIsLeftOut: the same for Grafana.
func TestGrafanaAlertThatCannotBeHandledIsLeftOut(t *testing.T) {
	t.Parallel()
	var payload map[string]any
	require.NoError(t, json.Unmarshal(fixture(t, "grafana.json"), &payload))
	alerts := payload["alerts"].([]any)
	bad := map[string]any{"status": "firing", "labels": map[string]string{"alertname": "NoPrint"}}
	payload["alerts"] = append([]any{bad}, alerts...)
	body, err := json.Marshal(payload)
	require.NoError(t, err)
	s := &sink{}
	reg := prometheus.NewRegistry()
	h := alerting.NewGrafanaHandler(alerting.Auth{Tokens: []string{"gf-token"}}, s.take, nil, alerting.WithIgnored(webhook.NewIgnored(reg)))
	status, answer := postAnswer(t, h, body, map[string]string{"Authorization": "Bearer gf-token"})
	require.Equal(t, http.StatusOK, status, answer)
	require.Len(t, s.got, len(alerts))
	require.Equal(t, 1.0, ignoredCount(t, reg, "grafana", "invalid_alert"))
}

// stormBody is an Alertmanager delivery (webhook payload version 4) of n
// alerts of one rule, each with the labels and annotations a Kubernetes
// alert usually carries.
func stormBody(t *testing.T, n int) []byte {
	t.Helper()
	type alert struct {
		Status       string            `json:"status"`
		Labels       map[string]string `json:"labels"`
		Annotations  map[string]string `json:"annotations"`
		StartsAt     string            `json:"startsAt"`
		EndsAt       string            `json:"endsAt"`
		GeneratorURL string            `json:"generatorURL"`
		Fingerprint  string            `json:"fingerprint"`
	}
	list := make([]alert, 0, n)
	for i := range n {
		pod := fmt.Sprintf("checkout-7d9f8b6c5-%05d", i)
		list = append(list, alert{Status: "firing",
			Labels: map[string]string{"alertname": "KubePodNotReady", "service": "checkout", "severity": "critical", "namespace": "shop",
				"pod": pod, "container": "checkout", "node": fmt.Sprintf("ip-10-0-%d-%d.eu-west-1.compute.internal", i/250, i%250),
				"instance": fmt.Sprintf("10.0.%d.%d:8080", i/250, i%250), "job": "kube-state-metrics", "cluster": "prod-eu-west-1",
				"prometheus": "monitoring/k8s", "endpoint": "http", "uid": fmt.Sprintf("6f1c2a9e-0d3b-4c7e-9a51-%012d", i)},
			Annotations: map[string]string{"summary": "Pod has been in a non-ready state for more than 15 minutes.",
				"description": fmt.Sprintf("Pod shop/%s has been in a non-ready state for longer than 15 minutes on cluster prod-eu-west-1.", pod),
				"runbook_url": "https://runbooks.prometheus-operator.dev/runbooks/kubernetes/kubepodnotready"},
			StartsAt: "2026-08-07T14:20:31.123Z", EndsAt: "0001-01-01T00:00:00Z",
			GeneratorURL: "http://prometheus.example.com:9090/graph?g0.expr=sum+by+%28namespace%2C+pod%2C+cluster%29+%28max+by%28namespace%2C+pod%2C+cluster%29+%28kube_pod_status_phase%7Bjob%3D%22kube-state-metrics%22%2C+phase%3D~%22Pending%7CUnknown%7CFailed%22%7D%29%29+%3E+0&g0.tab=1",
			Fingerprint:  fmt.Sprintf("%016x", 0xf00d0000+i)})
	}
	body, err := json.Marshal(map[string]any{"version": "4", "groupKey": `{}:{alertname="KubePodNotReady"}`, "truncatedAlerts": 0,
		"status": "firing", "receiver": "firebreak", "groupLabels": map[string]string{"alertname": "KubePodNotReady"},
		"commonLabels": map[string]string{"alertname": "KubePodNotReady", "service": "checkout"}, "commonAnnotations": map[string]string{},
		"externalURL": "http://alertmanager.example.com:9093", "alerts": list})
	require.NoError(t, err)
	return body
}

// TestStormDeliveryIsTakenWhole: a storm's delivery of 5,000 alerts (some
// 5.5 MiB, past the 4 MiB the bot took before) is taken whole; only one past
// MaxBody (some 30,000 alerts) is refused, with 413.
func TestStormDeliveryIsTakenWhole(t *testing.T) {
	t.Parallel()
	s := &sink{}
	h := alerting.NewAlertmanagerHandler(alerting.Auth{Tokens: []string{"am-token"}}, s.take, nil)
	auth := map[string]string{"Authorization": "Bearer am-token"}
	body := stormBody(t, 5000)
	require.Greater(t, len(body), 4<<20)
	start := time.Now()
	status, answer := postAnswer(t, h, body, auth)
	require.Equal(t, http.StatusOK, status, answer)
	require.Len(t, s.got, 5000)
	t.Logf("%d alerts, %d bytes, read in %s", len(s.got), len(body), time.Since(start).Round(time.Millisecond))

	// A delivery past MaxBody: the storm with an annotation of 32 MiB.
	huge := bytes.Replace(body, []byte(`"summary":"`), []byte(`"summary":"`+strings.Repeat("x", alerting.MaxBody)), 1)
	require.Greater(t, len(huge), alerting.MaxBody)
	status, answer = postAnswer(t, h, huge, auth)
	require.Equal(t, http.StatusRequestEntityTooLarge, status, answer)
	require.Len(t, s.got, 5000)
}
