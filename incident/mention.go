package incident

// Mention is how a user is named in a line the domain still words itself:
// their mention, or firebreak for the bot. Notices name people by id and
// leave it to the chat.
func Mention(user string) string { return mention(user) }

func mention(user string) string {
	if user == "" || user == "bot" {
		return "firebreak"
	}
	return "<@" + user + ">"
}
