// Package outbound holds the one resilience policy for every call the bot
// makes to another service: per-attempt timeouts, retries with exponential
// backoff and full jitter, Retry-After handling, a circuit breaker per
// provider, and metrics. Each integration gets its *http.Client from a
// Client here and hands it to its SDK (slack-go, go-pagerduty, go-github) or
// uses it directly, so the policy lives in one place.
//
// Wiring, in cmd:
//
//	metrics := outbound.NewMetrics(promRegistry)
//	breakers := outbound.NewRegistry() // for /readyz
//	slackHTTP := outbound.New(outbound.Policy{Provider: "slack", Operation: outbound.SlackOperation},
//		outbound.WithMetrics(metrics), outbound.WithRegistry(breakers), outbound.WithLogger(logger))
//	api := slack.New(token, slack.OptionHTTPClient(slackHTTP.HTTPClient()))
//
// The transport retries what is safe to retry and hands the last response
// back unchanged, so each SDK still builds its own errors (slack-go's
// *slack.RateLimitedError, go-github's *github.RateLimitError). Without a
// response (timeouts, connection errors, an open breaker) it returns an
// *UnavailableError. AsRetryAfter and Client.AsRateLimited turn any of the
// SDKs' rate-limit errors into a wait, so a durable job can snooze.
//
// See docs/adr/0003-outbound-resilience.md for the reasoning.
package outbound
