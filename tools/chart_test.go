package tools

import (
	"net/url"
	"regexp"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/common/util"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/engine"
)

// renderChart renders ../deploy/helm/firebreak with values over its
// defaults, as helm template does.
func renderChart(t *testing.T, values map[string]any) (map[string]string, error) {
	t.Helper()
	ch, err := loader.Load("../deploy/helm/firebreak")
	if err != nil {
		t.Fatalf("load chart: %v", err)
	}
	vals, err := util.ToRenderValues(ch, values, common.ReleaseOptions{Name: "fb", Namespace: "firebreak", IsInstall: true}, nil)
	if err != nil {
		t.Fatalf("values: %v", err)
	}
	return engine.Render(ch, vals)
}

func socketSecrets(extra map[string]any) map[string]any {
	v := map[string]any{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1"}
	for k, x := range extra {
		v[k] = x
	}
	return v
}

// TestChartBundledPostgreSQLURLTakesAnyPassword: the bundled PostgreSQL's
// DATABASE_URL carries the password escaped, so one with @ : / + % ? # or a
// space reaches the bot as it is; max_connections allows 41 connections for
// each bot pod (TestChartPostgreSQLConnectionsCountTheRollingUpdate).
func TestChartBundledPostgreSQLURLTakesAnyPassword(t *testing.T) {
	password := "p@ss w:rd/+%?#&="
	out, err := renderChart(t, map[string]any{
		"replicaCount": 3,
		"secret":       map[string]any{"values": socketSecrets(nil)},
		"postgresql":   map[string]any{"enabled": true, "password": password},
	})
	if err != nil {
		t.Fatal(err)
	}
	pg := out["firebreak/templates/postgresql.yaml"]
	m := regexp.MustCompile(`DATABASE_URL: "([^"]*)"`).FindStringSubmatch(pg)
	if m == nil {
		t.Fatalf("no DATABASE_URL in\n%s", pg)
	}
	u, err := url.Parse(m[1])
	if err != nil {
		t.Fatalf("DATABASE_URL %q: %v", m[1], err)
	}
	if got, _ := u.User.Password(); got != password || u.User.Username() != "firebreak" || u.Host != "fb-firebreak-postgresql:5432" || u.Path != "/firebreak" {
		t.Errorf("DATABASE_URL %q reads as user %q password %q host %q path %q", m[1], u.User.Username(), got, u.Host, u.Path)
	}
	if !strings.Contains(pg, `"max_connections=225"`) {
		t.Errorf("three replicas, the one a rolling update adds and the old one still shutting down need 5 x 41 connections and some to spare:\n%s", pg)
	}
}

// TestChartPostgreSQLConnectionsCountTheRollingUpdate: each bot pod may hold
// 41 PostgreSQL connections (two pools of 20, and the job engine's listener,
// which holds one more of its own), and during a rolling update the pods
// maxSurge adds hold theirs beside the old ones, and the old pods still
// shutting down (which Kubernetes counts neither in the surge nor as
// unavailable) keep theirs for their grace period: the bundled
// PostgreSQL's max_connections counts them all, so a new pod is not refused
// connections halfway through an update.
func TestChartPostgreSQLConnectionsCountTheRollingUpdate(t *testing.T) {
	maxConnections := regexp.MustCompile(`"max_connections=(\d+)"`)
	for _, tc := range []struct {
		name     string
		replicas int
		update   map[string]any
		want     string // max_connections
		strategy string // the Deployment's, as rendered
	}{
		{"one replica", 1, nil, "143", "type: RollingUpdate\n    rollingUpdate:\n      maxSurge: 1\n      maxUnavailable: 0"},
		{"three replicas", 3, nil, "225", "maxSurge: 1\n"},
		{"ten replicas, a quarter at a time", 10, map[string]any{"maxSurge": "25%", "maxUnavailable": "25%"}, "758", "maxSurge: 25%\n"},
		{"no surge", 2, map[string]any{"maxSurge": 0, "maxUnavailable": 1}, "143", "maxSurge: 0\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			values := map[string]any{
				"replicaCount": tc.replicas,
				"secret":       map[string]any{"values": socketSecrets(nil)},
				"postgresql":   map[string]any{"enabled": true, "password": "p"},
			}
			if tc.update != nil {
				values["rollingUpdate"] = tc.update
			}
			out, err := renderChart(t, values)
			if err != nil {
				t.Fatal(err)
			}
			m := maxConnections.FindStringSubmatch(out["firebreak/templates/postgresql.yaml"])
			if m == nil || m[1] != tc.want {
				t.Errorf("max_connections %v, want %s", m, tc.want)
			}
			if d := out["firebreak/templates/deployment.yaml"]; !strings.Contains(d, tc.strategy) {
				t.Errorf("the Deployment's strategy lacks %q:\n%s", tc.strategy, d)
			}
		})
	}
	// SQLite: one pod, recreated.
	out, err := renderChart(t, map[string]any{"secret": map[string]any{"values": socketSecrets(nil)}})
	if err != nil {
		t.Fatal(err)
	}
	if d := out["firebreak/templates/deployment.yaml"]; !strings.Contains(d, "type: Recreate") || strings.Contains(d, "maxSurge") {
		t.Errorf("on SQLite the pod is recreated:\n%s", d)
	}
	_, err = renderChart(t, map[string]any{"secret": map[string]any{"values": socketSecrets(nil)}, "postgresql": map[string]any{"enabled": true},
		"rollingUpdate": map[string]any{"maxSurge": 0, "maxUnavailable": 0}})
	if err == nil || !strings.Contains(err.Error(), "cannot both be 0") {
		t.Errorf("maxSurge and maxUnavailable both 0 rendered (err %v)", err)
	}
}

// TestChartRefusesHalfOfTheWebViewsPair: the web view needs the Slack
// app's client id and secret, and publicURL; the chart refuses to render
// the secret without the id (the bot would start without the web view and
// without a word), or the id without the secret or publicURL.
func TestChartRefusesHalfOfTheWebViewsPair(t *testing.T) {
	tests := []struct {
		name   string
		values map[string]any
		want   string
	}{
		{"secret without id", map[string]any{"publicURL": "https://fb.example.com",
			"secret": map[string]any{"values": socketSecrets(map[string]any{"SLACK_CLIENT_SECRET": "s"})}}, "set env.SLACK_CLIENT_ID"},
		{"existing secret's key without id", map[string]any{"publicURL": "https://fb.example.com",
			"secret": map[string]any{"existingSecret": "creds", "existingSecretKeys": []any{"SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_CLIENT_SECRET"}}}, "set env.SLACK_CLIENT_ID"},
		{"id without secret", map[string]any{"publicURL": "https://fb.example.com", "env": map[string]any{"SLACK_CLIENT_ID": "1.2"},
			"secret": map[string]any{"values": socketSecrets(nil)}}, "needs SLACK_CLIENT_SECRET"},
		{"no publicURL", map[string]any{"env": map[string]any{"SLACK_CLIENT_ID": "1.2"},
			"secret": map[string]any{"values": socketSecrets(map[string]any{"SLACK_CLIENT_SECRET": "s"})}}, "needs publicURL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := renderChart(t, tt.values)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("rendered (err %v), want a refusal saying %q", err, tt.want)
			}
		})
	}
	out, err := renderChart(t, map[string]any{"publicURL": "https://fb.example.com", "env": map[string]any{"SLACK_CLIENT_ID": "1.2"},
		"secret": map[string]any{"values": socketSecrets(map[string]any{"SLACK_CLIENT_SECRET": "s"})}})
	if err != nil {
		t.Fatalf("both, with publicURL: %v", err)
	}
	d := out["firebreak/templates/deployment.yaml"]
	for _, want := range []string{"SLACK_CLIENT_SECRET_FILE", "SLACK_CLIENT_ID", "PUBLIC_URL"} {
		if !strings.Contains(d, want) {
			t.Errorf("the deployment lacks %s", want)
		}
	}
}
