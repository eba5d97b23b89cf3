// Package destination shapes what an endpoint receives: which fields of an
// event it may see (Fields, applied by PayloadFor before a delivery starts,
// so fields never sent never enter that delivery's history), and the body
// its destination understands (Format: ScanForge's own event, or a Slack,
// Discord, Google Chat or Microsoft Teams message rendered by Render at
// attempt time). It also reads the chat tools' answers that mean a
// destination is gone for good (DisableReason) or asks for a wait
// (RetryAfter). Everything here is a pure function of its inputs.
//
// Files:
//   - fields.go, object.go: the field privacy policy and the filter.
//   - format.go: formats, Render, and the summary every chat format shows.
//   - slack.go, discord.go, chat.go: one renderer per destination.
//   - answers.go: what the destinations' error answers mean.
package destination
