// --report FILE.html: one self-contained page, a section per experiment with its claim, figures, verdict and a chart
// drawn as inline SVG by this file (no script library, no font or style sheet fetched: it opens offline). A short
// inline script only counts the charts into #check, so a headless browser's DOM dump shows the page ran.
using System.Globalization;
using System.Net;
using System.Text;

namespace Weft.Cli.Lab;

internal static class HtmlReport
{
    private static readonly string[] s_palette = ["#4269d0", "#efb118", "#ff725c", "#6cc5b0", "#3ca951", "#ff8ab7", "#a463f2"];

    public static string Write(LabRun run)
    {
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>weft lab</title>\n<style>")
          .Append("body{font-family:system-ui,sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222}")
          .Append("table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.2em .6em;text-align:right}td:first-child,th:first-child{text-align:left}")
          .Append(".holds{color:#1a7f37}.doesnothold{color:#c0392b}.holdswithcaveat{color:#b7791f}.notchecked{color:#777}")
          .Append("section{border-top:2px solid #ddd;margin-top:2em}svg{display:block;margin:1em 0;background:#fff}.meta{color:#666}")
          .Append("</style></head><body>\n");
        sb.Append("<h1>weft lab</h1>\n<p class=\"meta\">").Append(E(run.Machine)).Append(" · ").Append(E(run.Runtime)).Append(" · ")
          .Append(run.StartedUtc.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture)).Append(run.Quick ? " · quick run (small sizes)" : "").Append("</p>\n");
        sb.Append("<table><tr><th>experiment</th><th>verdict</th></tr>");
        foreach (var r in run.Experiments)
            sb.Append("<tr><td><a href=\"#").Append(E(r.Id)).Append("\">").Append(E(r.Title)).Append("</a></td><td class=\"").Append(r.Verdict.ToString().ToLowerInvariant()).Append("\">").Append(E(r.Verdict.Words())).Append("</td></tr>");
        sb.Append("</table>\n");
        foreach (var r in run.Experiments)
        {
            sb.Append("<section id=\"").Append(E(r.Id)).Append("\" data-experiment=\"").Append(E(r.Id)).Append("\">\n<h2>").Append(E(r.Title)).Append("</h2>\n");
            sb.Append("<p><b>Claim.</b> ").Append(E(r.Claim)).Append("</p>\n<p><b>Measured.</b> ").Append(E(r.Measured)).Append("</p>\n");
            foreach (var c in r.Charts) Chart(sb, r.Id, c);
            foreach (var t in r.Tables)
            {
                sb.Append("<table><caption>").Append(E(t.Title)).Append("</caption><tr>");
                foreach (string col in t.Columns) sb.Append("<th>").Append(E(col)).Append("</th>");
                sb.Append("</tr>");
                foreach (var row in t.Rows)
                {
                    sb.Append("<tr>");
                    foreach (string cell in row) sb.Append("<td>").Append(E(cell)).Append("</td>");
                    sb.Append("</tr>");
                }
                sb.Append("</table>\n");
            }
            foreach (string n in r.Notes) sb.Append("<p class=\"meta\">").Append(E(n)).Append("</p>\n");
            sb.Append("<p><b>Verdict: <span class=\"").Append(r.Verdict.ToString().ToLowerInvariant()).Append("\">").Append(E(r.Verdict.Words())).Append("</span></b>. ").Append(E(r.Reason)).Append("</p>\n</section>\n");
        }
        sb.Append("<p id=\"check\"></p>\n<script>document.getElementById('check').textContent = 'charts: ' + document.querySelectorAll('svg.chart').length + ' of ' + document.querySelectorAll('section[data-experiment]').length + ' experiments';</script>\n");
        sb.Append("</body></html>\n");
        return sb.ToString();
    }

    private static string E(string s) => WebUtility.HtmlEncode(s);

    private static string F(double v) => v.ToString("0.##", CultureInfo.InvariantCulture);

    /// <summary>A grouped bar chart or a line chart as SVG, 760×300, with axis ticks and a legend.</summary>
    private static void Chart(StringBuilder sb, string id, Chart c)
    {
        const double W = 760, H = 340, L = 70, R = 20, T = 34, B = 90;
        double pw = W - L - R, ph = H - T - B;
        var values = c.Series.SelectMany(s => s.Values).Where(v => v is { } x && double.IsFinite(x)).Select(v => v!.Value).ToList();
        bool log = c.LogScale && values.Count > 0 && values.All(v => v > 0);
        double max = values.Count == 0 ? 1 : values.Max();
        double min = log ? values.Min() : 0;
        double lo, hi;
        var ticks = new List<double>();
        if (log)
        {
            lo = Math.Pow(10, Math.Floor(Math.Log10(min)));
            hi = Math.Pow(10, Math.Ceiling(Math.Log10(max)));
            if (hi <= lo) hi = lo * 10;
            for (double t = lo; t <= hi * 1.0001; t *= 10) ticks.Add(t);
        }
        else
        {
            lo = 0;
            double step = NiceStep(max <= 0 ? 1 : max / 5);
            hi = Math.Max(step, Math.Ceiling(max / step) * step);
            for (double t = 0; t <= hi * 1.0001; t += step) ticks.Add(t);
        }
        double Y(double v) => log ? T + ph - (Math.Log10(v) - Math.Log10(lo)) / (Math.Log10(hi) - Math.Log10(lo)) * ph : T + ph - (v - lo) / (hi - lo) * ph;

        sb.Append(CultureInfo.InvariantCulture, $"<svg class=\"chart\" data-experiment=\"{E(id)}\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"{E(c.Title)}\">");
        sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{L}\" y=\"20\" font-size=\"15\" font-weight=\"bold\">{E(c.Title)}</text>");
        foreach (double t in ticks)
        {
            double y = Y(t);
            sb.Append(CultureInfo.InvariantCulture, $"<line x1=\"{L}\" x2=\"{W - R}\" y1=\"{F(y)}\" y2=\"{F(y)}\" stroke=\"#e5e5e5\"/><text x=\"{L - 6}\" y=\"{F(y + 4)}\" font-size=\"11\" text-anchor=\"end\">{E(Tick(t))}</text>");
        }
        sb.Append(CultureInfo.InvariantCulture, $"<text x=\"14\" y=\"{F(T + ph / 2)}\" font-size=\"11\" transform=\"rotate(-90 14 {F(T + ph / 2)})\" text-anchor=\"middle\">{E(c.Unit)}</text>");
        sb.Append(CultureInfo.InvariantCulture, $"<line x1=\"{L}\" x2=\"{W - R}\" y1=\"{F(T + ph)}\" y2=\"{F(T + ph)}\" stroke=\"#333\"/>");
        int n = c.Categories.Count;
        double slot = pw / Math.Max(1, n);
        if (c.Kind == "line")
        {
            double X(int i) => L + slot * (i + 0.5);
            for (int s = 0; s < c.Series.Count; s++)
            {
                var pts = c.Series[s].Values.Select((v, i) => (v, i)).Where(p => p.v is { } x && double.IsFinite(x) && (!log || x > 0)).Select(p => $"{F(X(p.i))},{F(Y(p.v!.Value))}").ToList();
                string color = s_palette[s % s_palette.Length];
                sb.Append(CultureInfo.InvariantCulture, $"<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2.5\" points=\"{string.Join(' ', pts)}\"/>");
                foreach (string p in pts) sb.Append(CultureInfo.InvariantCulture, $"<circle cx=\"{p.Split(',')[0]}\" cy=\"{p.Split(',')[1]}\" r=\"3.5\" fill=\"{color}\"/>");
            }
        }
        else
        {
            int k = Math.Max(1, c.Series.Count);
            double bw = slot * 0.8 / k;
            for (int i = 0; i < n; i++)
            {
                for (int s = 0; s < c.Series.Count; s++)
                {
                    if (c.Series[s].Values.ElementAtOrDefault(i) is not { } v || !double.IsFinite(v) || (log && v <= 0)) continue;
                    double x = L + slot * i + slot * 0.1 + bw * s, y = Y(Math.Max(v, log ? lo : 0));
                    sb.Append(CultureInfo.InvariantCulture, $"<rect x=\"{F(x)}\" y=\"{F(y)}\" width=\"{F(bw * 0.95)}\" height=\"{F(T + ph - y)}\" fill=\"{s_palette[s % s_palette.Length]}\"><title>{E(c.Series[s].Name)}: {E(Tick(v))} {E(c.Unit)}</title></rect>");
                }
            }
        }
        bool slanted = c.Categories.Sum(x => x.Length) * 6.5 > pw; // labels that would run into each other are slanted
        for (int i = 0; i < n; i++)
        {
            double x = L + slot * (i + 0.5), y = T + ph + 16;
            sb.Append(slanted
                ? $"<text x=\"{F(x)}\" y=\"{F(y)}\" font-size=\"11\" text-anchor=\"end\" transform=\"rotate(-20 {F(x)} {F(y)})\">{E(c.Categories[i])}</text>"
                : $"<text x=\"{F(x)}\" y=\"{F(y)}\" font-size=\"11\" text-anchor=\"middle\">{E(c.Categories[i])}</text>");
        }
        double lx = L;
        for (int s = 0; s < c.Series.Count; s++)
        {
            sb.Append(CultureInfo.InvariantCulture, $"<rect x=\"{F(lx)}\" y=\"{F(H - 22)}\" width=\"12\" height=\"12\" fill=\"{s_palette[s % s_palette.Length]}\"/><text x=\"{F(lx + 16)}\" y=\"{F(H - 12)}\" font-size=\"12\">{E(c.Series[s].Name)}</text>");
            lx += 28 + 7 * c.Series[s].Name.Length;
        }
        sb.Append("</svg>\n");
    }

    private static double NiceStep(double raw)
    {
        double p = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double m = raw / p;
        return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
    }

    private static string Tick(double v) => Math.Abs(v) switch
    {
        >= 1e9 => (v / 1e9).ToString("0.##", CultureInfo.InvariantCulture) + "G",
        >= 1e6 => (v / 1e6).ToString("0.##", CultureInfo.InvariantCulture) + "M",
        >= 1e3 => (v / 1e3).ToString("0.##", CultureInfo.InvariantCulture) + "k",
        _ => v.ToString("0.###", CultureInfo.InvariantCulture),
    };
}
