package incident

import (
	"fmt"
	"strings"
	"time"
)

// Since renders the time from start to now as people say it: "4m12s",
// "1h05m", "2d3h".
func Since(start, now time.Time) string {
	d := now.Sub(start)
	if d < 0 {
		d = 0
	}
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	default:
		return fmt.Sprintf("%dd%dh", int(d.Hours())/24, int(d.Hours())%24)
	}
}

// DurationWords renders a whole duration as a target is said: "15
// minutes", "1 hour", "1 hour 30 minutes", "2 days"; seconds are dropped
// unless the duration is shorter than a minute.
func DurationWords(d time.Duration) string {
	unit := func(n int, one string) string {
		if n == 1 {
			return "1 " + one
		}
		return fmt.Sprintf("%d %ss", n, one)
	}
	if d < time.Minute {
		return unit(int(d.Seconds()), "second")
	}
	days, hours, minutes := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour), int(d%time.Hour/time.Minute)
	var parts []string
	if days > 0 {
		parts = append(parts, unit(days, "day"))
	}
	if hours > 0 {
		parts = append(parts, unit(hours, "hour"))
	}
	if minutes > 0 {
		parts = append(parts, unit(minutes, "minute"))
	}
	return strings.Join(parts, " ")
}
