// Package charts draws klaxon's charts, as pure functions of their data: no
// I/O but the writer it is given, no clock, no globals but the parsed fonts.
//
// PNG draws the line chart of the metric an incident's alert watches, for the
// incident's chat cards (Slack, Mattermost, Telegram): the series in
// colour-blind-safe colours, the same window one day earlier dashed, the
// threshold as a line with its firing side shaded and its value on the axis
// ("> 90 %"), and a marker where the alert started. The image is 720 px wide
// for a phone's 360 px at twice the density, on an opaque light or dark
// background (Theme), so it reads the same in every chat theme.
//
// BarsSVG and LinesSVG draw the web console's charts as SVG to inline in a
// page: incidents per day, pages by hour of day, response times per week.
// They carry classes only, coloured by the page's stylesheet (CSS), so that a
// strict Content-Security-Policy holds, and escape every label.
//
// Values print in their Unit (FormatValue): bytes in KiB, MiB, GiB (1024
// based), seconds in ms, s, min, h, ratios as percentages, plain numbers with
// SI prefixes.
//
// Drawing uses gonum's vector graphics packages (gonum.org/v1/plot/vg and
// vg/vgimg; not gonum.org/v1/plot itself, whose twelve embedded Liberation
// fonts would add 6 MB to the binary) and the Go fonts, embedded.
package charts
