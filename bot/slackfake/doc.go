// Package slackfake is an in-process fake of Slack for tests and for `firebreak demo`.
//
// It has two halves that together let a bot run end to end without the network:
//
//   - Server is a fake Slack Web API (an httptest.Server). Point slack-go at it with
//     slack.OptionAPIURL(srv.URL()). It keeps state (users, user groups, channels,
//     messages, pins, bookmarks, reactions, modal views, trigger ids), enforces the rules
//     and error codes real Slack enforces (channel-name rules, membership, Block Kit
//     limits, trigger_id expiry and reuse, view stack depth), records every call, and
//     can inject faults (latency, 5xx, 429 with Retry-After, custom hooks). It also
//     serves apps.connections.open and a Socket Mode WebSocket that slack-go's
//     socketmode client can connect to.
//
//   - Driver plays Slack's side towards the bot: it sends signed slash commands,
//     interactions and Events API callbacks to the bot's HTTP endpoints, or pushes
//     them through the Socket Mode connection and waits for the bot's ack. It issues
//     real trigger ids and response_url endpoints on the Server, so the bot's follow-up
//     calls (views.open, posting to response_url) are checked like Slack would check them.
//
// Where Slack's behaviour is not documented, the fake picks the strictest plausible
// behaviour and says so in the doc comment of the method concerned.
package slackfake
