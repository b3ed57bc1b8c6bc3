package web

import (
	"fmt"
	"html"
	"html/template"
	"strings"
	"time"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/metrics"
)

// Charts are drawn on the server as inline SVG: no script, no chart
// library, and they print and screenshot as they look. Every piece of text
// is escaped where it is written.

const (
	chartW    = 720
	chartH    = 240
	chartLeft = 48
	chartBase = 200
	chartTop  = 24
)

var sevColours = map[incident.Severity]string{
	incident.P1: "#c62828", incident.P2: "#ef6c00", incident.P3: "#f9a825", incident.P4: "#78909c",
}

func svgOpen(b *strings.Builder, title string) {
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" class="chart" role="img" aria-label="%s">`,
		chartW, chartH, html.EscapeString(title))
	fmt.Fprintf(b, `<title>%s</title>`, html.EscapeString(title))
	fmt.Fprintf(b, `<text x="%d" y="14" class="caption">%s</text>`, chartLeft, html.EscapeString(title))
	fmt.Fprintf(b, `<line x1="%d" y1="%d" x2="%d" y2="%d" class="axis"/>`, chartLeft, chartBase, chartW-8, chartBase)
}

// niceMax rounds a chart's top up to 1, 2 or 5 times a power of ten.
func niceMax(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := 1.0
	for p*10 <= v {
		p *= 10
	}
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

// weeklyChart draws incidents per week, stacked by severity.
func weeklyChart(weeks []metrics.Week) template.HTML {
	var b strings.Builder
	svgOpen(&b, "Incidents per week, by severity")
	top := 0
	for _, w := range weeks {
		top = max(top, w.Total)
	}
	scale := niceMax(float64(top))
	plotH := float64(chartBase - chartTop)
	fmt.Fprintf(&b, `<text x="%d" y="%d" class="tick" text-anchor="end">%g</text>`, chartLeft-6, chartTop+4, scale)
	fmt.Fprintf(&b, `<text x="%d" y="%d" class="tick" text-anchor="end">0</text>`, chartLeft-6, chartBase+4)
	if len(weeks) > 0 {
		slot := float64(chartW-chartLeft-16) / float64(len(weeks))
		barW := max(slot*0.7, 2)
		for i, w := range weeks {
			x := float64(chartLeft) + 8 + float64(i)*slot
			y := float64(chartBase)
			for sev := incident.P4; sev >= incident.P1; sev-- {
				n := w.BySeverity[sev]
				if n == 0 {
					continue
				}
				h := float64(n) / scale * plotH
				y -= h
				fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>week of %s: %d %s</title></rect>`,
					x, y, barW, h, sevColours[sev], w.Start.Format("2 Jan 2006"), n, sev)
			}
			if len(weeks) <= 16 || i%(len(weeks)/12+1) == 0 {
				fmt.Fprintf(&b, `<text x="%.1f" y="%d" class="tick" text-anchor="middle">%s</text>`, x+barW/2, chartBase+16, w.Start.Format("2 Jan"))
			}
		}
	}
	legend := chartLeft
	for sev := incident.P1; sev <= incident.P4; sev++ {
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="10" height="10" fill="%s"/><text x="%d" y="%d" class="tick">%s</text>`,
			legend, chartH-14, sevColours[sev], legend+14, chartH-5, sev)
		legend += 60
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) //nolint:gosec // built from numbers, dates and escaped text
}

// durationChart draws one bar per group: the mean, with a tick at the p90.
func durationChart(title string, groups []metrics.Group, pick func(metrics.Group) metrics.Stat) template.HTML {
	var b strings.Builder
	svgOpen(&b, title)
	var top time.Duration
	for _, g := range groups {
		top = max(top, pick(g).P90, pick(g).Mean)
	}
	hours := niceMax(top.Hours())
	scale := time.Duration(hours * float64(time.Hour))
	if top < time.Hour {
		scale = time.Duration(niceMax(top.Minutes()) * float64(time.Minute))
	}
	plotH := float64(chartBase - chartTop)
	fmt.Fprintf(&b, `<text x="%d" y="%d" class="tick" text-anchor="end">%s</text>`, chartLeft-6, chartTop+4, humanDuration(scale))
	fmt.Fprintf(&b, `<text x="%d" y="%d" class="tick" text-anchor="end">0</text>`, chartLeft-6, chartBase+4)
	if len(groups) > 0 {
		slot := float64(chartW-chartLeft-16) / float64(len(groups))
		barW := slot * 0.5
		for i, g := range groups {
			st := pick(g)
			x := float64(chartLeft) + 8 + float64(i)*slot + slot*0.25
			label := html.EscapeString(g.Key)
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" class="tick" text-anchor="middle">%s</text>`, x+barW/2, chartBase+16, label)
			if st.Count == 0 {
				fmt.Fprintf(&b, `<text x="%.1f" y="%d" class="tick muted" text-anchor="middle">no data</text>`, x+barW/2, chartBase-6)
				continue
			}
			h := float64(st.Mean) / float64(scale) * plotH
			fill := "#1565c0"
			if sev, ok := parseSeverity(g.Key); ok {
				fill = sevColours[sev]
			}
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s: mean %s, p50 %s, p90 %s (%d incidents)</title></rect>`,
				x, float64(chartBase)-h, barW, h, fill, label, humanDuration(st.Mean), humanDuration(st.P50), humanDuration(st.P90), st.Count)
			p90 := float64(chartBase) - float64(st.P90)/float64(scale)*plotH
			fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" class="p90"/>`, x-4, p90, x+barW+4, p90)
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" class="tick" text-anchor="middle">%s</text>`, x+barW/2, float64(chartBase)-h-4, humanDuration(st.Mean))
		}
	}
	b.WriteString(`<text x="` + fmt.Sprint(chartW-12) + `" y="14" class="tick" text-anchor="end">bar: mean · line: p90</text></svg>`)
	return template.HTML(b.String()) //nolint:gosec // built from numbers and escaped text
}
