package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/firebreakhq/firebreak/bot/slackfake"
	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/github/ghfake"
	"github.com/firebreakhq/firebreak/integrations/launchdarkly/ldfake"
	"github.com/firebreakhq/firebreak/integrations/pagerduty/pdfake"
	"github.com/firebreakhq/firebreak/integrations/statuspage/statuspagefake"
)

const (
	demoSigningSecret = "demo-signing-secret"
	demoPDSecret      = "demo-pagerduty-secret"
	demoGHSecret      = "demo-github-secret"
	demoRepo          = "acme/checkout"
	demoWorkflow      = "deploy.yml"
	demoUpdateEvery   = 4 * time.Second
	demoStepTimeout   = 25 * time.Second
)

// demoWorld is the bot and the local stand-ins it talks to.
type demoWorld struct {
	out    io.Writer
	slack  *slackfake.Server
	pd     *pdfake.Server
	gh     *ghfake.Server
	ld     *httptest.Server
	ldFake *ldfake.Server
	sp     *statuspagefake.Fake
	driver *slackfake.Driver
	base   string
	dir    string

	printer *channelPrinter
	// deployedAt is when the bad deploy finished, as GitHub recorded it;
	// the story's messages name that time.
	deployedAt time.Time
	channel    string // the incident channel id, once it exists
}

// demo runs the real bot, unchanged, against built-in fakes of Slack,
// PagerDuty, GitHub and LaunchDarkly on a temporary SQLite database, and
// plays a scripted P1 with time accelerated, printing the channel as it
// happens. Any failed step ends it with an error naming the step.
func demo(ctx context.Context, stdout, stderr io.Writer) error {
	start := time.Now()
	dir, err := os.MkdirTemp("", "firebreak-demo-")
	if err != nil {
		return err
	}
	w, cleanup, err := newDemoWorld(dir, stdout)
	if err != nil {
		return err
	}
	defer cleanup()

	addr, err := freePort()
	if err != nil {
		return err
	}
	w.base = "http://" + addr
	adminAddr, err := freePort()
	if err != nil {
		return err
	}
	policy := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(policy, []byte(fmt.Sprintf(`
channels: {broadcast: "#incidents", dashboard: "https://grafana.example.com/d/checkout"}
commander_group: S0ICS
severities:
  P1: {update_every: %s, respond_within: 1h}
services:
  checkout:
    name: Checkout
    responders: [U0CAROL, S0PAYMENTS]
    owners: [U0BOB, S0PAYMENTS]
    runbook: https://runbooks.example.com/checkout
    pagerduty: {service_id: PSVC1}
    github: {repos: [%s], environments: [production], deploy_workflow: %s, rollback: workflow}
    flags:
      - {provider: launchdarkly, project: default, key: new-checkout-flow, environment: production}
    statuspage: {components: [cmpcheckoutapi, cmpcheckoutweb]}
`, demoUpdateEvery, demoRepo, demoWorkflow)), 0o600); err != nil {
		return err
	}
	env := map[string]string{
		"SLACK_BOT_TOKEN": w.slack.BotToken(), "SLACK_SIGNING_SECRET": demoSigningSecret, "SLACK_API_URL": w.slack.URL(),
		"SLACK_MODE": "http", "HTTP_ADDR": addr, "ADMIN_ADDR": adminAddr, "SQLITE_PATH": filepath.Join(dir, "firebreak.db"), "POLICY_FILE": policy,
		"LOG_FORMAT": "json", "LOG_LEVEL": "warn", "SHUTDOWN_TIMEOUT": "5s",
		"PAGERDUTY_API_URL": w.pd.URL(), "PAGERDUTY_EVENTS_URL": w.pd.EventsURL(), "PAGERDUTY_TOKEN": w.pd.Token(),
		"PAGERDUTY_FROM_EMAIL": "bot@example.com", "PAGERDUTY_WEBHOOK_SECRET": demoPDSecret,
		"GITHUB_API_URL": w.gh.URL(), "GITHUB_TOKEN": w.gh.Token(), "GITHUB_WEBHOOK_SECRET": demoGHSecret,
		"GITHUB_POSTMORTEM_REPO": demoRepo,
		"LAUNCHDARKLY_API_URL":   w.ld.URL, "LAUNCHDARKLY_TOKEN": "demo-ld-token",
		"STATUSPAGE_API_URL": w.sp.URL, "STATUSPAGE_API_KEY": w.sp.APIKey, "STATUSPAGE_PAGE_ID": w.sp.PageID,
	}
	cfg, err := LoadConfig(func(k string) string { return env[k] })
	if err != nil {
		return fmt.Errorf("demo configuration: %w", err)
	}
	logFile, err := os.Create(filepath.Join(dir, "firebreak.log"))
	if err != nil {
		return err
	}
	defer logFile.Close()

	botCtx, stopBot := context.WithCancel(ctx)
	botDone := make(chan error, 1)
	go func() { botDone <- serve(botCtx, cfg, logFile) }()
	defer func() {
		stopBot()
		<-botDone
	}()

	if err := waitReady(ctx, "http://"+adminAddr, botDone); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "firebreak demo: the real bot against local stand-ins for Slack, PagerDuty, GitHub, LaunchDarkly and Statuspage.\n")
	fmt.Fprintf(stdout, "Data and logs: %s\n\n", dir)
	steps := demoSteps(w)
	w.printer = newChannelPrinter(w.slack, stdout)
	for i, st := range steps {
		fmt.Fprintf(stdout, "\n── step %d/%d: %s\n", i+1, len(steps), st.name)
		stepCtx, cancel := context.WithTimeout(ctx, demoStepTimeout)
		err := st.run(stepCtx)
		cancel()
		w.printer.flush()
		if err != nil {
			select {
			case berr := <-botDone:
				err = fmt.Errorf("%w (the bot stopped: %v)", err, berr)
			default:
			}
			return fmt.Errorf("demo step %q failed: %w (bot log: %s)", st.name, err, logFile.Name())
		}
	}
	fmt.Fprintf(stdout, "\nDemo complete in %s.\n", time.Since(start).Round(100*time.Millisecond))
	return nil
}

type demoStep struct {
	name string
	run  func(ctx context.Context) error
}

func newDemoWorld(dir string, out io.Writer) (*demoWorld, func(), error) {
	w := &demoWorld{out: out, dir: dir}
	w.slack = slackfake.New(slackfake.WithChatWritePublic())
	for _, u := range []slackfake.User{
		// Display names as people set them, the same as their PagerDuty names,
		// so the postmortem lists each person once.
		{ID: "U0ALICE", Name: "alice", RealName: "Alice Doe", DisplayName: "Alice Doe", Email: "alice@example.com"},
		{ID: "U0BOB", Name: "bob", RealName: "Bob Roe", DisplayName: "Bob Roe", Email: "bob@example.com"},
		{ID: "U0CAROL", Name: "carol", RealName: "Carol Poe", DisplayName: "Carol Poe", Email: "carol@example.com"},
		{ID: "U0DAVE", Name: "dave", RealName: "Dave Loe", DisplayName: "Dave Loe", Email: "dave@example.com"},
	} {
		w.slack.AddUser(u)
	}
	w.slack.AddUserGroup(slackfake.UserGroup{ID: "S0PAYMENTS", Handle: "payments", Users: []string{"U0DAVE"}})
	w.slack.AddUserGroup(slackfake.UserGroup{ID: "S0ICS", Handle: "incident-commanders", Users: []string{"U0BOB"}})
	w.slack.AddChannel(slackfake.Channel{ID: "C0GENERAL", Name: "general", Members: []string{"U0ALICE", w.slack.BotUserID()}})
	w.slack.AddChannel(slackfake.Channel{ID: "C0INCIDENTS", Name: "incidents", Members: []string{w.slack.BotUserID()}})
	w.driver = slackfake.NewDriver(w.slack, demoSigningSecret)

	w.pd = pdfake.New()
	w.pd.AddEscalationPolicy("PEP1", "Checkout")
	w.pd.AddService(pdfake.Service{ID: "PSVC1", Name: "Checkout", EscalationPolicyID: "PEP1"})
	w.pd.AddUser(pdfake.User{ID: "PUBOT", Name: "firebreak", Email: "bot@example.com"})
	w.pd.AddUser(pdfake.User{ID: "PUBOB", Name: "Bob Roe", Email: "bob@example.com"})
	w.pd.AddUser(pdfake.User{ID: "PUCAROL", Name: "Carol Poe", Email: "carol@example.com"})
	w.pd.AddOnCall(pdfake.OnCall{EscalationPolicyID: "PEP1", Level: 1, UserID: "PUBOB", Schedule: "Primary"})
	w.pd.AddOnCall(pdfake.OnCall{EscalationPolicyID: "PEP1", Level: 2, UserID: "PUCAROL", Schedule: "Secondary"})

	now := time.Now().UTC()
	w.gh = ghfake.New()
	w.gh.AddRepo(demoRepo, "main", "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432")
	w.gh.AddWorkflow(demoRepo, demoWorkflow, true, ghfake.WithInputs("sha", "environment", "reason"))
	good := w.gh.AddDeployment(demoRepo, ghfake.Deployment{SHA: "1a2b3c4d5e6f708192a3b4c5d6e7f80912345678", Ref: "main", Environment: "production",
		Creator: "carol", CreatedAt: now.Add(-3 * time.Hour)})
	_ = w.gh.AddDeploymentStatus(demoRepo, good, ghfake.DeploymentStatus{State: "success", CreatedAt: now.Add(-3 * time.Hour)})
	bad := w.gh.AddDeployment(demoRepo, ghfake.Deployment{SHA: "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432", Ref: "main", Environment: "production",
		Creator: "dave", CreatedAt: now.Add(-12 * time.Minute)})
	w.deployedAt = now.Add(-11 * time.Minute)
	_ = w.gh.AddDeploymentStatus(demoRepo, bad, ghfake.DeploymentStatus{State: "success", CreatedAt: w.deployedAt})

	w.ldFake = ldfake.New("demo-ld-token")
	w.ldFake.AddFlag(ldfake.Flag{Project: "default", Key: "new-checkout-flow", Name: "New checkout flow", On: map[string]bool{"production": true}})
	w.ldFake.AddAuditEntry(ldfake.AuditEntry{Date: now.Add(-25 * time.Minute), Name: "New checkout flow", TitleVerb: "turned on the flag",
		MemberEmail: "erin@example.com", MemberName: "Erin Moe", Project: "default", Environment: "production", FlagKey: "new-checkout-flow"})
	w.ld = httptest.NewServer(w.ldFake)
	w.sp = statuspagefake.New("demo-statuspage-key", "demopage", "cmpcheckoutapi", "cmpcheckoutweb")

	cleanup := func() {
		w.sp.Close()
		w.ld.Close()
		w.gh.Close()
		w.pd.Close()
		w.slack.Close()
	}
	return w, cleanup, nil
}

func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// command sends a signed slash command, as Slack does, and returns the
// immediate reply's text.
func (w *demoWorld) command(ctx context.Context, user, channel, text string) (string, error) {
	fmt.Fprintf(w.out, "%s> /incident %s\n", userName(user), text)
	r, err := w.driver.SlashCommand(ctx, w.base+"/slack/commands", slack.SlashCommand{Command: "/incident", Text: text, UserID: user, ChannelID: channel})
	if err != nil {
		return "", err
	}
	if r.StatusCode != http.StatusOK {
		return "", fmt.Errorf("/incident %s: HTTP %d: %s", text, r.StatusCode, r.Body)
	}
	var reply struct {
		Text string `json:"text"`
	}
	_ = r.JSON(&reply)
	if reply.Text != "" {
		fmt.Fprintf(w.out, "  (only you) %s\n", indentLines(reply.Text, "  "))
	}
	return reply.Text, nil
}

// click presses a button of a message in a channel, as the user.
func (w *demoWorld) click(ctx context.Context, user, channel, actionID, value string) error {
	fmt.Fprintf(w.out, "%s clicks [%s]\n", userName(user), w.buttonLabel(channel, actionID, value))
	cb := slackfake.BlockActions(user, channel, "", &slack.BlockAction{ActionID: actionID, Value: value})
	r, err := w.driver.Interaction(ctx, w.base+"/slack/interactions", cb)
	if err != nil {
		return err
	}
	if r.StatusCode != http.StatusOK {
		return fmt.Errorf("click %s: HTTP %d", actionID, r.StatusCode)
	}
	return nil
}

// buttonLabel is the text a person sees on the button with this action id
// and value in the channel's latest message that has it.
func (w *demoWorld) buttonLabel(channel, actionID, value string) string {
	msgs := w.slack.Messages(channel)
	for i := len(msgs) - 1; i >= 0; i-- {
		if label, ok := findButton(msgs[i].Blocks, actionID, value); ok {
			return label
		}
	}
	return actionID
}

// findButton returns the label of the button with actionID and value in
// Block Kit JSON.
func findButton(blocks []byte, actionID, value string) (string, bool) {
	var doc any
	if json.Unmarshal(blocks, &doc) != nil {
		return "", false
	}
	var label string
	var found bool
	var walk func(any)
	walk = func(v any) {
		switch t := v.(type) {
		case map[string]any:
			if t["type"] == "button" && t["action_id"] == actionID && (value == "" || t["value"] == value) {
				if txt, ok := t["text"].(map[string]any); ok {
					label, _ = txt["text"].(string)
					found = true
					return
				}
			}
			for _, x := range t {
				if !found {
					walk(x)
				}
			}
		case []any:
			for _, x := range t {
				if !found {
					walk(x)
				}
			}
		}
	}
	walk(doc)
	return label, found
}

// blockLines is the text of a message's section and context blocks, one
// line each, for printing what a message lists.
func blockLines(blocks []byte) []string {
	var doc []map[string]any
	if json.Unmarshal(blocks, &doc) != nil {
		return nil
	}
	text := func(v any) string {
		if m, ok := v.(map[string]any); ok {
			s, _ := m["text"].(string)
			return s
		}
		return ""
	}
	var out []string
	for _, b := range doc {
		switch b["type"] {
		case "section", "header":
			if s := text(b["text"]); s != "" {
				out = append(out, s)
			}
		case "context":
			if els, ok := b["elements"].([]any); ok {
				var parts []string
				for _, e := range els {
					if s := text(e); s != "" {
						parts = append(parts, s)
					}
				}
				if len(parts) > 0 {
					out = append(out, strings.Join(parts, " "))
				}
			}
		}
	}
	return out
}

// waitFor polls until cond holds, printing the channel as it goes.
func (w *demoWorld) waitFor(ctx context.Context, what string, cond func() bool) error {
	for {
		w.printer.flush()
		if cond() {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("timed out waiting for %s", what)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// message finds the newest message in the channel whose text or blocks
// contain s.
func (w *demoWorld) message(channel, s string) (slackfake.Message, bool) {
	msgs := w.slack.Messages(channel)
	for i := len(msgs) - 1; i >= 0; i-- {
		if strings.Contains(msgs[i].Text, s) || strings.Contains(string(msgs[i].Blocks), s) {
			return msgs[i], true
		}
	}
	return slackfake.Message{}, false
}

var demoNames = map[string]string{"U0ALICE": "Alice", "U0BOB": "Bob", "U0CAROL": "Carol", "U0DAVE": "Dave"}

func userName(id string) string {
	if n, ok := demoNames[id]; ok {
		return n
	}
	if id == slackfake.DefaultBotUserID {
		return "firebreak"
	}
	return id
}

func indentLines(s, pad string) string {
	return strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n"+pad)
}

// channelPrinter prints new messages in every channel, readably: who said
// what, and which buttons are shown.
type channelPrinter struct {
	mu    sync.Mutex
	slack *slackfake.Server
	out   io.Writer
	seen  map[string]bool
}

func newChannelPrinter(s *slackfake.Server, out io.Writer) *channelPrinter {
	return &channelPrinter{slack: s, out: out, seen: map[string]bool{}}
}

var (
	mentionRE = regexp.MustCompile(`<@(U[A-Z0-9]+)(\|[^>]*)?>`)
	linkRE    = regexp.MustCompile(`<(https?://[^|>]+)\|([^>]+)>`)
	channelRE = regexp.MustCompile(`<#(C[A-Z0-9]+)(\|[^>]*)?>`)
	dateRE    = regexp.MustCompile(`<!date\^\d+\^[^|]*\|([^>]*)>`)
	buttonRE  = regexp.MustCompile(`"type":"button"[^}]*?"text":\{"type":"plain_text","text":"([^"]*)"`)
	buttonRE2 = regexp.MustCompile(`"text":\{"type":"plain_text","text":"([^"]*)"[^}]*\}[^{}]*"type":"button"`)
)

func (p *channelPrinter) render(text string) string {
	text = mentionRE.ReplaceAllStringFunc(text, func(m string) string { return "@" + strings.ToLower(userName(mentionRE.FindStringSubmatch(m)[1])) })
	text = linkRE.ReplaceAllString(text, "$2 ($1)")
	text = channelRE.ReplaceAllStringFunc(text, func(m string) string {
		id := channelRE.FindStringSubmatch(m)[1]
		if ch, ok := p.slack.Channel(id); ok {
			return "#" + ch.Name
		}
		return "#" + id
	})
	text = strings.ReplaceAll(text, "<!subteam^S0ICS>", "@incident-commanders")
	text = dateRE.ReplaceAllString(text, "$1")
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(text)
}

func (p *channelPrinter) flush() {
	p.mu.Lock()
	defer p.mu.Unlock()
	chans := p.slack.Channels()
	sort.Slice(chans, func(i, j int) bool { return chans[i].Created.Before(chans[j].Created) })
	for _, ch := range chans {
		for _, m := range p.slack.Messages(ch.ID) {
			key := ch.ID + "/" + m.TS + "/" + m.EditedTS
			if p.seen[key] {
				continue
			}
			p.seen[key] = true
			verb := ""
			if m.EditedTS != "" {
				verb = " (edited)"
			}
			who := userName(m.User)
			if m.BotID != "" || m.User == "" {
				who = "firebreak"
			}
			text := m.Text
			if text == "" {
				text = string(m.Blocks)
			}
			where := "#" + ch.Name
			if ch.IM && len(ch.Members) > 1 {
				where = "DM to @" + strings.ToLower(userName(ch.Members[1]))
			}
			fmt.Fprintf(p.out, "%s  %s%s: %s\n", where, who, verb, indentLines(p.render(text), "    "))
			var buttons []string
			for _, re := range []*regexp.Regexp{buttonRE, buttonRE2} {
				for _, b := range re.FindAllStringSubmatch(string(m.Blocks), -1) {
					buttons = append(buttons, "["+b[1]+"]")
				}
			}
			if len(buttons) > 0 {
				fmt.Fprintf(p.out, "    buttons: %s\n", strings.Join(incident.Dedupe(buttons), " "))
			}
		}
	}
}

// waitReady waits until the bot's admin listener answers /readyz with 200.
func waitReady(ctx context.Context, admin string, botDone chan error) error {
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-botDone:
			botDone <- err
			return fmt.Errorf("the bot stopped at start: %v", err)
		default:
		}
		resp, err := http.Get(admin + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("the bot was not ready within 20s")
}
