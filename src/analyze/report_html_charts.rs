//! The report's interactive charts: uPlot (vendored at `python/pushpop_load/static/uplot/`, MIT, inlined with its
//! license so the file needs no network) fed by one compact JSON document of every chart's data, and a small script
//! that ties the time charts together: the cursor moves on all of them, a zoom dragged on one applies to every one,
//! a double-click restores the whole run on every one.
//!
//! Numbers are written rounded to what they can mean (latencies to the µs the histograms hold, rates to 0.01), with
//! one x array per chart and `null` where a series has no point: an hour of per-second data for 20 endpoints and 10
//! resource series is about 1.5 MB (measured in `bench/analyze/html.py`).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::charts::{colour, Line};
use super::report_junit::escape;

pub const UPLOT_JS: &str = include_str!("../../python/pushpop_load/static/uplot/uPlot.iife.min.js");
pub const UPLOT_CSS: &str = include_str!("../../python/pushpop_load/static/uplot/uPlot.min.css");
pub const UPLOT_LICENSE: &str = include_str!("../../python/pushpop_load/static/uplot/LICENSE");

/// What a chart's x axis is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Axis {
    /// Seconds since the run's first sample: the charts that zoom together.
    Elapsed,
    /// log10(1 / (1 − q)): 1 is 90%, 2 is 99%, 3 is 99.9%, as HdrHistogram's plotter draws it.
    Percentile,
    /// Milliseconds on a log scale (a latency distribution's bins).
    LogMs,
}

impl Axis {
    fn as_str(self) -> &'static str {
        match self {
            Axis::Elapsed => "time",
            Axis::Percentile => "spectrum",
            Axis::LogMs => "histogram",
        }
    }
}

/// One chart: its lines, or several sets of lines of the same names (one per endpoint) picked from a list.
pub struct Chart {
    pub id: String,
    pub axis: Axis,
    pub title: String,
    /// The y axis's label ("ms", "% of one core").
    pub unit: String,
    /// What follows a value in the legend ("ms", "%").
    pub suffix: String,
    /// Decimals kept in the embedded data and shown in the legend.
    pub decimals: usize,
    /// Draw as bars (a distribution), not lines.
    pub bars: bool,
    pub caption: String,
    /// The resource group, for the page's structure (`data-group`).
    pub group: Option<String>,
    /// (name of the set, its lines); every set has the same lines in the same order.
    pub sets: Vec<(String, Vec<Line>)>,
}

impl Chart {
    #[must_use]
    pub fn new(id: &str, axis: Axis, title: &str, unit: &str, suffix: &str, decimals: usize) -> Self {
        Self {
            id: id.to_owned(),
            axis,
            title: title.to_owned(),
            unit: unit.to_owned(),
            suffix: suffix.to_owned(),
            decimals,
            bars: false,
            caption: String::new(),
            group: None,
            sets: Vec::new(),
        }
    }

    #[must_use]
    pub fn caption(mut self, caption: &str) -> Self {
        caption.clone_into(&mut self.caption);
        self
    }

    /// Whether any line has a point: a chart without one is left out.
    #[must_use]
    pub fn has_points(&self) -> bool {
        self.sets
            .iter()
            .flat_map(|(_, lines)| lines)
            .any(|l| l.points.iter().any(|p| p.0.is_finite() && p.1.is_finite()))
    }
}

/// `value` with at most `decimals` decimals and no trailing zeros; `null` when not a number. Scaled to an integer
/// and printed as one, which keeps a latency of whole µs exact (an hour's report holds ~400,000 numbers); past
/// 2^53 scaled, as Rust's float formatting prints it.
fn number(out: &mut String, value: f64, decimals: usize) {
    if !value.is_finite() {
        out.push_str("null");
        return;
    }
    let digits = u32::try_from(decimals.min(9)).unwrap_or(9);
    let scale = 10u64.pow(digits);
    #[allow(clippy::cast_precision_loss)]
    let scaled = (value * scale as f64).round();
    if scaled.abs() >= 9.0e15 {
        let start = out.len();
        let _ = write!(out, "{value:.decimals$}");
        if decimals > 0 {
            let trimmed = out[start..].trim_end_matches('0').trim_end_matches('.').len();
            out.truncate(start + trimmed);
        }
        return;
    }
    #[allow(clippy::cast_possible_truncation)]
    let scaled = scaled as i64;
    if scaled < 0 {
        out.push('-');
    }
    let magnitude = scaled.unsigned_abs();
    let _ = write!(out, "{}", magnitude / scale);
    let mut fraction = magnitude % scale;
    if fraction > 0 {
        let mut width = digits as usize;
        while fraction % 10 == 0 {
            fraction /= 10;
            width -= 1;
        }
        let _ = write!(out, ".{fraction:0width$}");
    }
}

/// A JSON string that cannot end, or start anything inside, the `<script>` element holding it: every `<` escaped
/// (`</script>`, `<!--` and `<script` all change how the HTML parser reads a script's text).
fn string(out: &mut String, text: &str) {
    let json = serde_json::to_string(text).unwrap_or_else(|_| "\"\"".to_owned());
    out.push_str(&json.replace('<', "\\u003c"));
}

fn hex(c: plotters::style::RGBColor) -> String {
    format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2)
}

/// Thousandths of the x unit: the key that aligns the lines' points on one x array (resource samples come at
/// arbitrary milliseconds, the exact intervals on whole seconds).
#[allow(clippy::cast_possible_truncation)]
fn key(x: f64) -> i64 {
    (x * 1000.0).round() as i64
}

/// The chart as JSON: `{"id", "kind", "title", "unit", "suffix", "decimals", "bars", "names", "x", "series":
/// [{"label", "colour", "dash"}], "sets": [[[y…] per line] per set]}`.
fn chart_json(out: &mut String, chart: &Chart) {
    let mut xs: BTreeMap<i64, f64> = BTreeMap::new();
    for (_, lines) in &chart.sets {
        for line in lines {
            for &(x, y) in &line.points {
                if x.is_finite() && y.is_finite() {
                    xs.entry(key(x)).or_insert(x);
                }
            }
        }
    }
    let index: BTreeMap<i64, usize> = xs.keys().enumerate().map(|(i, &k)| (k, i)).collect();
    out.push_str("{\"id\":");
    string(out, &chart.id);
    let _ = write!(out, ",\"kind\":\"{}\",\"title\":", chart.axis.as_str());
    string(out, &chart.title);
    out.push_str(",\"unit\":");
    string(out, &chart.unit);
    out.push_str(",\"suffix\":");
    string(out, &chart.suffix);
    let _ = write!(
        out,
        ",\"decimals\":{},\"bars\":{},\"names\":[",
        chart.decimals, chart.bars
    );
    for (i, (name, _)) in chart.sets.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        string(out, name);
    }
    out.push_str("],\"x\":[");
    let x_decimals = if chart.axis == Axis::Elapsed { 3 } else { 5 };
    for (i, x) in xs.values().enumerate() {
        if i > 0 {
            out.push(',');
        }
        number(out, *x, x_decimals);
    }
    out.push_str("],\"series\":[");
    if let Some((_, lines)) = chart.sets.first() {
        for (i, line) in lines.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str("{\"label\":");
            string(out, &line.label);
            let _ = write!(out, ",\"colour\":\"{}\",\"dash\":{}}}", hex(line.colour), line.dashed);
        }
    }
    out.push_str("],\"sets\":[");
    let mut column = vec![f64::NAN; xs.len()];
    for (s, (_, lines)) in chart.sets.iter().enumerate() {
        if s > 0 {
            out.push(',');
        }
        out.push('[');
        for (l, line) in lines.iter().enumerate() {
            if l > 0 {
                out.push(',');
            }
            column.fill(f64::NAN);
            for &(x, y) in &line.points {
                if let Some(&i) = x.is_finite().then(|| index.get(&key(x))).flatten() {
                    column[i] = y;
                }
            }
            out.push('[');
            for (i, y) in column.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                number(out, *y, chart.decimals);
            }
            out.push(']');
        }
        out.push(']');
    }
    out.push_str("]}");
}

/// The chart's place on the page: a figure uPlot draws into, with a list of endpoints when it has sets.
pub fn figure(out: &mut String, chart: &Chart) {
    let group = chart
        .group
        .as_ref()
        .map(|g| format!(" data-group=\"{}\"", escape(g)))
        .unwrap_or_default();
    let _ = write!(
        out,
        "<figure class=\"chart\" data-kind=\"{}\"{group}><div class=\"chart-head\"><b>{}</b>",
        chart.axis.as_str(),
        escape(&chart.title)
    );
    if chart.sets.len() > 1 {
        let _ = write!(
            out,
            " <select data-for=\"{}\" aria-label=\"endpoint\">",
            escape(&chart.id)
        );
        for (i, (name, _)) in chart.sets.iter().enumerate() {
            let _ = write!(out, "<option value=\"{i}\">{}</option>", escape(name));
        }
        out.push_str("</select>");
    }
    let _ = writeln!(
        out,
        "</div><div class=\"plot\" id=\"chart-{}\"></div><figcaption class=\"muted\">{}</figcaption></figure>",
        escape(&chart.id),
        escape(&chart.caption)
    );
}

/// Draws the charts: their data, uPlot with its license, and the script that builds and links them.
pub fn scripts(out: &mut String, charts: &[Chart]) {
    out.push_str("<script type=\"application/json\" id=\"chart-data\">[");
    for (i, chart) in charts.iter().enumerate() {
        if i > 0 {
            out.push_str(",\n");
        }
        chart_json(out, chart);
    }
    out.push_str("]</script>\n");
    // the license as the first lines of the script it covers; it holds no "*/"
    let _ = writeln!(
        out,
        "<script>/*! uPlot 1.6.32, https://github.com/leeoniya/uPlot\n{}*/\n{UPLOT_JS}</script>\n<script>{GLUE}</script>",
        UPLOT_LICENSE.replace("*/", "* /")
    );
}

/// Builds every chart of `#chart-data`, links the time charts, and leaves `window.pushpopCharts` (id → uPlot) for
/// the tests.
const GLUE: &str = r#"
(function(){
  var specs=JSON.parse(document.getElementById('chart-data').textContent);
  var charts={},timeCharts=[],syncing=false,lo=Infinity,hi=-Infinity;
  function elapsed(s){if(s==null)return '';var t=Math.round(s),n=t<0?'-':'';t=Math.abs(t);
    var h=Math.floor(t/3600),m=Math.floor(t/60)%60,x=t%60;
    return n+(h?h+':'+(m<10?'0':'')+m:m)+':'+(x<10?'0':'')+x;}
  function pct(x){if(x==null)return '';var p=100-100*Math.pow(10,-x);return (+p.toFixed(4))+'%';}
  function short(v){if(v==null)return '';var a=Math.abs(v);if(a>=1e6)return (v/1e6).toFixed(1)+'M';if(a>=1e4)return (v/1e3).toFixed(0)+'k';
    if(a>=100||v===0)return v.toFixed(0);if(a>=1)return (+v.toFixed(1))+'';return (+v.toPrecision(2))+'';}
  function zoomAll(src){if(syncing)return;syncing=true;var mn=src.scales.x.min,mx=src.scales.x.max;
    timeCharts.forEach(function(o){if(o!==src&&(o.scales.x.min!==mn||o.scales.x.max!==mx))o.setScale('x',{min:mn,max:mx});});
    syncing=false;}
  function whole(){syncing=true;timeCharts.forEach(function(o){o.setScale('x',{min:lo,max:hi});});syncing=false;}
  function data(spec,set){return [spec.x].concat(spec.sets[set]);}
  specs.forEach(function(spec){
    var host=document.getElementById('chart-'+spec.id),time=spec.kind==='time',hist=spec.kind==='histogram';
    var xv=time?elapsed:spec.kind==='spectrum'?pct:function(v){if(v==null)return '';var f=Math.pow(10,0.05);
      return short(v/f)+'–'+short(v*f)+' ms';};
    var series=[{label:time?'elapsed':spec.kind==='spectrum'?'percentile':'latency',value:function(u,v){return xv(v);}}];
    spec.series.forEach(function(s){series.push({label:s.label,stroke:s.colour,width:1.5,dash:s.dash?[6,4]:undefined,
      spanGaps:!hist,fill:hist?s.colour+'99':undefined,points:{show:false},
      paths:hist?uPlot.paths.bars({size:[0.9,Infinity],align:0}):undefined,
      value:function(u,v){return v==null?'–':v.toFixed(spec.decimals)+(spec.suffix?' '+spec.suffix:'');}});});
    var axisX={values:function(u,vals){return vals.map(time?elapsed:spec.kind==='spectrum'?pct:function(v){return short(v);});}};
    if(time)axisX.incrs=[1,2,5,10,15,30,60,120,300,600,900,1800,3600,7200,14400,43200,86400];
    if(spec.kind==='spectrum')axisX.splits=function(u){var out=[];for(var i=0;i<=Math.ceil(u.scales.x.max);i++)out.push(i);return out;};
    var opts={width:Math.max(260,host.clientWidth),height:280,series:series,
      scales:{x:{time:false,distr:hist?3:1},y:{range:function(u,mn,mx){return [Math.min(0,mn),mx>0?mx*1.08:1];}}},
      axes:[axisX,{label:spec.unit,size:56,values:function(u,vals){return vals.map(short);}}],
      cursor:{drag:{x:true,y:false},sync:time?{key:'pushpop-time',setSeries:false}:undefined},
      legend:{live:true},hooks:{setScale:[function(u,key){if(time&&key==='x')zoomAll(u);}]}};
    if(time&&spec.x.length){lo=Math.min(lo,spec.x[0]);hi=Math.max(hi,spec.x[spec.x.length-1]);}
    var u=new uPlot(opts,data(spec,0),host);
    charts[spec.id]=u;
    if(time){timeCharts.push(u);host.addEventListener('dblclick',function(){whole();});}
    var pick=document.querySelector('select[data-for="'+spec.id+'"]');
    if(pick)pick.addEventListener('change',function(){
      var mn=u.scales.x.min,mx=u.scales.x.max;syncing=true;u.setData(data(spec,+pick.value));
      if(time)u.setScale('x',{min:mn,max:mx});syncing=false;});
  });
  if(hi>lo)whole();
  window.addEventListener('resize',function(){Object.keys(charts).forEach(function(id){
    var host=document.getElementById('chart-'+id);charts[id].setSize({width:Math.max(260,host.clientWidth),height:280});});});
  window.pushpopCharts=charts;
  window.pushpopWhole=[lo,hi];
})();
"#;

/// Lines of `label`s with the colours of their order.
#[must_use]
pub fn line(label: &str, index: usize, dashed: bool, points: Vec<(f64, f64)>) -> Line {
    Line {
        label: label.to_owned(),
        colour: colour(index),
        dashed,
        points,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_short_and_json() {
        let mut out = String::new();
        for (v, d) in [
            (1.5, 3),
            (2.0, 3),
            (-0.0001, 2),
            (f64::NAN, 2),
            (12.3456, 2),
            (100.0, 0),
            (-2.5, 1),
            (0.001, 3),
            (13.439, 3),
            (1e300, 2),
        ] {
            number(&mut out, v, d);
            out.push(',');
        }
        let huge = format!("{:.0}", 1e300);
        assert_eq!(out, format!("1.5,2,0,null,12.35,100,-2.5,0.001,13.439,{huge},"));
        let mut out = String::new();
        string(&mut out, "</script><!--<b>");
        assert_eq!(out, r#""\u003c/script>\u003c!--\u003cb>""#);
        assert_eq!(hex(colour(0)), "#1f77b4");
    }

    #[test]
    fn lines_share_one_x_array_with_gaps() {
        let mut chart = Chart::new("c", Axis::Elapsed, "T", "ms", "ms", 3);
        chart.sets.push((
            "all".to_owned(),
            vec![
                line("a", 0, false, vec![(0.0, 1.0), (1.0, 2.0)]),
                line("b <x>", 1, true, vec![(1.0, 3.25), (2.5, f64::NAN), (3.0, 4.0)]),
            ],
        ));
        let mut out = String::new();
        chart_json(&mut out, &chart);
        let value: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(value["x"], serde_json::json!([0, 1, 3]));
        assert_eq!(value["sets"], serde_json::json!([[[1, 2, null], [null, 3.25, 4]]]));
        assert_eq!(value["series"][1]["label"], "b <x>");
        assert_eq!(value["series"][1]["dash"], true);
        assert!(chart.has_points());
        let mut html = String::new();
        figure(&mut html, &chart);
        assert!(html.contains("id=\"chart-c\"") && !html.contains("<select"));
    }

    #[test]
    fn the_inlined_library_cannot_end_its_script_early() {
        assert!(!UPLOT_JS.contains("</script") && !UPLOT_CSS.contains("</style"));
        assert!(UPLOT_LICENSE.starts_with("The MIT License"));
    }
}
