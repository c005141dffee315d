//! The PDF report: the HTML report's content ([`super::Model`]) laid out on
//! A4 pages with pdf-writer.
//!
//! Text uses the PDF standard fonts (Helvetica for headings and prose,
//! Courier for values and the entries table) with WinAnsiEncoding, so
//! nothing is embedded and every reader has the fonts. Courier's fixed
//! advance (0.6 em) is what the layout measures with; prose in Helvetica is
//! only ever cut by the same rule, which is conservative for it. Characters
//! outside Windows-1252 are written as `<U+XXXX>`: the report never drops a
//! character of the evidence it shows.

use chrono::{Datelike, Timelike, Utc};
use pdf_writer::{Content, Date, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

use super::{Bar, Model};

const PAGE_W: f32 = 595.0;
const PAGE_H: f32 = 842.0;
const LEFT: f32 = 50.0;
const RIGHT: f32 = PAGE_W - 50.0;
const TOP: f32 = PAGE_H - 50.0;
const BOTTOM: f32 = 60.0;

#[derive(Clone, Copy)]
enum Font {
    Sans,
    SansBold,
    Mono,
    MonoBold,
}

impl Font {
    fn name(self) -> Name<'static> {
        Name(match self {
            Font::Sans => b"F1",
            Font::SansBold => b"F2",
            Font::Mono => b"F3",
            Font::MonoBold => b"F4",
        })
    }
}

type Rgb = (f32, f32, f32);

const fn rgb(r: u8, g: u8, b: u8) -> Rgb {
    (r as f32 / 255.0, g as f32 / 255.0, b as f32 / 255.0)
}

// The HTML report's colours.
const BLACK: Rgb = rgb(0x1d, 0x24, 0x30);
const GRAY: Rgb = rgb(0x5b, 0x65, 0x75);
const GREEN: Rgb = rgb(0x2e, 0x7d, 0x32);
const RED: Rgb = rgb(0xc6, 0x28, 0x28);
const BLUE: Rgb = rgb(0x3f, 0x6f, 0xb5);
const LIGHT: Rgb = rgb(0xc9, 0xce, 0xd6);
const ACTIVITY: Rgb = rgb(0x5a, 0x9e, 0x6f);

/// The Windows-1252 byte of `c`, where it has one (WinAnsiEncoding is
/// Windows-1252 for every printable character).
fn win_ansi(c: char) -> Option<u8> {
    let u = c as u32;
    match u {
        0x20..=0x7e | 0xa0..=0xff => u8::try_from(u).ok(),
        _ => {
            const HIGH: [(char, u8); 27] = [
                ('€', 0x80),
                ('‚', 0x82),
                ('ƒ', 0x83),
                ('„', 0x84),
                ('…', 0x85),
                ('†', 0x86),
                ('‡', 0x87),
                ('ˆ', 0x88),
                ('‰', 0x89),
                ('Š', 0x8a),
                ('‹', 0x8b),
                ('Œ', 0x8c),
                ('Ž', 0x8e),
                ('\u{2018}', 0x91),
                ('\u{2019}', 0x92),
                ('\u{201c}', 0x93),
                ('\u{201d}', 0x94),
                ('•', 0x95),
                ('–', 0x96),
                ('—', 0x97),
                ('˜', 0x98),
                ('™', 0x99),
                ('š', 0x9a),
                ('›', 0x9b),
                ('œ', 0x9c),
                ('ž', 0x9e),
                ('Ÿ', 0x9f),
            ];
            HIGH.iter().find(|(h, _)| *h == c).map(|(_, b)| *b)
        }
    }
}

/// `s` as it is shown: every character the fonts have, the others and
/// those that show nothing (the soft hyphen, [`super::is_hidden`]) as
/// `<U+XXXX>` (tabs and line breaks as a space).
fn displayable(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if win_ansi(c).is_some() && !super::is_hidden(c) {
            out.push(c);
        } else if c.is_whitespace() {
            out.push(' ');
        } else {
            out.push_str(&format!("<U+{:04X}>", c as u32));
        }
    }
    out
}

/// The WinAnsi bytes of a [`displayable`] string.
fn encode(s: &str) -> Vec<u8> {
    s.chars().map(|c| win_ansi(c).unwrap_or(b'?')).collect()
}

/// `s` cut to `max` characters, the last one an ellipsis when cut.
fn cut(s: &str, max: usize) -> String {
    let s = displayable(s);
    if s.chars().count() <= max {
        s
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// `s` in lines of at most `width` characters, broken after a space, a
/// comma, `_`, `/` or `-` where one is near the end of a line.
fn wrap(s: &str, width: usize) -> Vec<String> {
    let chars: Vec<char> = displayable(s).chars().collect();
    let width = width.max(8);
    let mut lines = Vec::new();
    let mut start = 0;
    while start < chars.len() {
        let mut end = (start + width).min(chars.len());
        if end < chars.len() {
            let floor = start + width * 2 / 3;
            if let Some(b) = (floor..end)
                .rev()
                .find(|&i| matches!(chars.get(i), Some(' ' | ',' | '_' | '/' | '-')))
            {
                end = b + 1;
            }
        }
        lines.push(chars.get(start..end).unwrap_or_default().iter().collect());
        start = end;
    }
    lines
}

/// Characters of Courier at `size` that fit in `width` points.
fn fits(width: f32, size: f32) -> usize {
    (width / (0.6 * size)).floor().max(1.0) as usize
}

/// Pages being laid out, top to bottom.
struct Layout {
    done: Vec<Content>,
    page: Content,
    y: f32,
}

impl Layout {
    fn new() -> Layout {
        Layout {
            done: Vec::new(),
            page: Content::new(),
            y: TOP,
        }
    }

    fn new_page(&mut self) {
        let page = std::mem::replace(&mut self.page, Content::new());
        self.done.push(page);
        self.y = TOP;
    }

    /// Starts a new page unless `h` points fit above the bottom margin.
    fn need(&mut self, h: f32) {
        if self.y - h < BOTTOM {
            self.new_page();
        }
    }

    fn text_at(&mut self, x: f32, y: f32, font: Font, size: f32, color: Rgb, s: &str) {
        let bytes = encode(&displayable(s));
        self.page
            .set_fill_rgb(color.0, color.1, color.2)
            .begin_text()
            .set_font(font.name(), size)
            .next_line(x, y)
            .show(Str(&bytes))
            .end_text();
    }

    /// One line of text at the cursor, which moves down by `lead`.
    fn line(&mut self, x: f32, font: Font, size: f32, color: Rgb, s: &str, lead: f32) {
        self.need(lead);
        self.y -= lead;
        let y = self.y;
        self.text_at(x, y, font, size, color, s);
    }

    fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, color: Rgb) {
        self.page
            .set_fill_rgb(color.0, color.1, color.2)
            .rect(x, y, w, h)
            .fill_nonzero();
    }

    fn heading(&mut self, s: &str) {
        self.need(60.0);
        self.y -= 10.0;
        self.line(LEFT, Font::SansBold, 13.0, BLACK, s, 16.0);
        self.y -= 4.0;
    }

    /// Prose in Helvetica, wrapped (measured as Courier: never too wide).
    fn paragraph(&mut self, s: &str, size: f32, color: Rgb) {
        for l in wrap(s, fits(RIGHT - LEFT, size)) {
            self.line(LEFT, Font::Sans, size, color, &l, size * 1.35);
        }
    }

    /// A horizontal bar chart: label, bar, count.
    fn hbars(&mut self, caption: &str, bars: &[Bar]) {
        if bars.is_empty() {
            return;
        }
        self.need(20.0 + 14.0 * bars.len().min(4) as f32);
        self.line(LEFT, Font::SansBold, 9.5, BLACK, caption, 16.0);
        self.y -= 2.0;
        let label_w = 150.0;
        let bar_max = RIGHT - LEFT - label_w - 40.0;
        for b in bars {
            self.need(14.0);
            self.y -= 14.0;
            let y = self.y;
            self.text_at(
                LEFT,
                y + 2.0,
                Font::Mono,
                7.5,
                BLACK,
                &cut(&b.label, fits(label_w - 6.0, 7.5)),
            );
            let w = (b.len as f32 / 100.0 * bar_max).max(0.5);
            self.rect(LEFT + label_w, y, w, 10.0, BLUE);
            self.text_at(
                LEFT + label_w + w + 4.0,
                y + 2.0,
                Font::Mono,
                7.5,
                BLACK,
                &b.count.to_string(),
            );
        }
    }

    /// Columns for the activity over time.
    fn activity(&mut self, bars: &[Bar]) {
        if bars.is_empty() {
            return;
        }
        let chart_h = 110.0;
        self.need(chart_h + 50.0);
        self.line(LEFT, Font::SansBold, 9.5, BLACK, "Activity over time", 16.0);
        let base = self.y - chart_h - 8.0;
        let n = bars.len() as f32;
        // At most 36 points a column: a few columns stay columns.
        let step = ((RIGHT - LEFT) / n).min(36.0);
        for (i, b) in bars.iter().enumerate() {
            let x = LEFT + i as f32 * step;
            let h = (b.len as f32 / 100.0 * (chart_h - 14.0)).max(0.5);
            self.rect(x + 0.5, base, (step - 2.0).max(0.8), h, ACTIVITY);
            if bars.len() <= 24 {
                let count = b.count.to_string();
                let cx = x + step / 2.0 - count.len() as f32 * 0.6 * 6.0 / 2.0;
                self.text_at(cx, base + h + 2.0, Font::Mono, 6.0, BLACK, &count);
            }
            if bars.len() <= 12 || i == 0 || i + 1 == bars.len() {
                // Without the year, as the HTML report shows them.
                let label: String = b.label.chars().skip(5).collect();
                let lw = label.chars().count() as f32 * 0.6 * 6.0;
                let lx = (x + step / 2.0 - lw / 2.0).clamp(LEFT, RIGHT - lw);
                self.text_at(lx, base - 9.0, Font::Mono, 6.0, GRAY, &label);
            }
        }
        self.page
            .set_stroke_rgb(GRAY.0, GRAY.1, GRAY.2)
            .set_line_width(0.5)
            .move_to(LEFT, base)
            .line_to(RIGHT, base)
            .stroke();
        self.y = base - 16.0;
    }

    /// Consumes the layout: its pages, each with the footer.
    fn finish(mut self, title: &str) -> Vec<Vec<u8>> {
        let last = std::mem::replace(&mut self.page, Content::new());
        self.done.push(last);
        let n = self.done.len();
        let mut out = Vec::with_capacity(n);
        for (i, mut page) in self.done.into_iter().enumerate() {
            let footer = format!("{} · page {} of {}", cut(title, 70), i + 1, n);
            let bytes = encode(&displayable(&footer));
            page.set_fill_rgb(GRAY.0, GRAY.1, GRAY.2)
                .begin_text()
                .set_font(Font::Sans.name(), 7.5)
                .next_line(LEFT, 30.0)
                .show(Str(&bytes))
                .end_text();
            page.set_stroke_rgb(LIGHT.0, LIGHT.1, LIGHT.2)
                .set_line_width(0.5)
                .move_to(LEFT, 42.0)
                .line_to(RIGHT, 42.0)
                .stroke();
            out.push(page.finish().into_vec());
        }
        out
    }
}

/// Column widths (characters) of the entries table, in Courier 7 pt.
const COLS: [(&str, usize); 7] = [
    ("Time (UTC)", 20),
    ("Event type", 20),
    ("Action", 22),
    ("Actor", 14),
    ("Tool / source", 14),
    ("Outcome", 8),
    ("Duration", 9),
];
const TABLE_SIZE: f32 = 7.0;
/// Lines a cell may take before it is cut.
const CELL_LINES: usize = 4;

/// The lines of one row of the entries table: each cell wrapped in its
/// column, so a long event type or action goes on below rather than being
/// cut (up to [`CELL_LINES`] lines, then cut with `…`).
fn table_rows(cells: [&str; 7]) -> Vec<String> {
    let cols: Vec<Vec<String>> = cells
        .iter()
        .zip(COLS)
        .map(|(cell, (_, w))| {
            let mut lines = wrap(cell, w);
            if lines.len() > CELL_LINES {
                let rest: String = lines.drain(CELL_LINES - 1..).collect();
                lines.push(cut(&rest, w));
            }
            lines
        })
        .collect();
    let n = cols.iter().map(Vec::len).max().unwrap_or(0).max(1);
    (0..n)
        .map(|i| {
            let mut s = String::new();
            for (lines, (_, w)) in cols.iter().zip(COLS) {
                let c = lines.get(i).map_or("", String::as_str);
                s.push_str(c);
                s.extend(std::iter::repeat_n(
                    ' ',
                    (w + 1).saturating_sub(c.chars().count()),
                ));
            }
            s.trim_end().to_string()
        })
        .collect()
}

fn entries(l: &mut Layout, m: &Model) {
    let header_line = table_rows(COLS.map(|(h, _)| h)).concat();
    let detail_width = fits(RIGHT - LEFT - 12.0, 6.5);
    for (i, r) in m.rows.iter().enumerate() {
        let details = if r.details == "{}" || r.details == "null" {
            Vec::new()
        } else {
            wrap(&r.details, detail_width)
        };
        let error = if r.error.is_empty() {
            Vec::new()
        } else {
            wrap(&format!("error: {}", r.error), detail_width)
        };
        // An entry's lines stay on one page (up to the details' 400
        // characters: a few lines).
        let outcome = r.outcome;
        let rows = table_rows([
            &r.ts,
            &r.event_type,
            &r.action,
            &r.actor,
            &r.source,
            outcome,
            &r.duration,
        ]);
        let h = 10.0 * rows.len() as f32 + 8.5 * (details.len() + error.len()) as f32 + 3.0;
        let page_before = l.done.len();
        l.need(h + 12.0);
        // The column heads open every page of the table.
        if i == 0 || l.done.len() != page_before {
            l.line(LEFT, Font::MonoBold, TABLE_SIZE, BLACK, &header_line, 11.0);
            l.page
                .set_stroke_rgb(LIGHT.0, LIGHT.1, LIGHT.2)
                .set_line_width(0.5)
                .move_to(LEFT, l.y - 3.0)
                .line_to(RIGHT, l.y - 3.0)
                .stroke();
            l.y -= 2.0;
        }
        let color = match outcome {
            "failed" => RED,
            _ => BLACK,
        };
        for row in &rows {
            l.line(LEFT, Font::Mono, TABLE_SIZE, color, row, 10.0);
        }
        for e in &error {
            l.line(LEFT + 12.0, Font::Mono, 6.5, RED, e, 8.5);
        }
        for d in &details {
            l.line(LEFT + 12.0, Font::Mono, 6.5, GRAY, d, 8.5);
        }
        l.y -= 3.0;
    }
}

fn summary(l: &mut Layout, m: &Model) {
    let s = &m.s;
    let cards = [
        (s.total.to_string(), "entries".to_string(), BLACK),
        (
            s.ok.to_string(),
            format!("successful ({}%)", s.ok_pct),
            GREEN,
        ),
        (
            s.failed.to_string(),
            format!("failed ({}%)", s.failed_pct),
            RED,
        ),
        (
            s.unknown.to_string(),
            "outcome not recorded".to_string(),
            BLACK,
        ),
    ];
    l.need(40.0);
    l.y -= 30.0;
    let w = (RIGHT - LEFT) / 4.0;
    for (i, (n, what, color)) in cards.iter().enumerate() {
        let x = LEFT + i as f32 * w;
        let y = l.y;
        l.text_at(x, y + 12.0, Font::SansBold, 16.0, *color, n);
        l.text_at(x, y, Font::Sans, 8.5, GRAY, what);
    }
    if !s.tools.is_empty() {
        l.y -= 6.0;
        l.paragraph(&format!("Tools used: {}", s.tools.join(", ")), 8.5, BLACK);
    }
}

fn verification(l: &mut Layout, m: &Model) {
    l.heading("Verification");
    if m.logs.is_empty() {
        l.paragraph(
            "No log file was given, so these entries were not verified against a hash chain.",
            9.0,
            BLACK,
        );
        return;
    }
    let width = fits(RIGHT - LEFT - 12.0, 7.5);
    for log in m.logs {
        let (word, color) = if log.valid {
            ("valid", GREEN)
        } else {
            ("NOT VALID", RED)
        };
        l.line(LEFT, Font::SansBold, 9.0, color, word, 13.0);
        let y = l.y;
        l.text_at(
            LEFT + 60.0,
            y,
            Font::Mono,
            8.0,
            BLACK,
            &cut(&log.path, fits(RIGHT - LEFT - 60.0, 8.0)),
        );
        let mut facts = Vec::new();
        if log.valid {
            facts.push(format!("{} entries", log.entries));
        }
        if !log.head.is_empty() {
            facts.push(format!("head {}", log.head));
        }
        if let Some(p) = &log.problem {
            facts.push(p.clone());
        }
        for f in facts {
            for line in wrap(&f, width) {
                l.line(
                    LEFT + 12.0,
                    Font::Mono,
                    7.5,
                    if log.valid { GRAY } else { RED },
                    &line,
                    9.5,
                );
            }
        }
        l.y -= 3.0;
    }
}

/// The PDF report of `m`.
pub(super) fn render(m: &Model) -> Vec<u8> {
    let mut l = Layout::new();
    // Helvetica-Bold's capitals are up to 0.72 em wide (but W, M: rare in
    // a run): measured as Courier at 0.72/0.6 of the size.
    for line in wrap(&m.title, fits(RIGHT - LEFT, 18.0 * 1.2)) {
        l.line(LEFT, Font::SansBold, 18.0, BLACK, &line, 22.0);
    }
    let mut meta = format!("Generated {} by evident {}", m.generated, crate::VERSION);
    if let (Some(a), Some(b)) = (&m.first, &m.last) {
        meta.push_str(&format!(" · entries from {a} to {b}"));
    }
    l.y -= 2.0;
    l.paragraph(&meta, 8.5, GRAY);
    verification(&mut l, m);
    l.heading("Summary");
    summary(&mut l, m);
    if m.charts {
        l.heading("Charts");
        l.activity(&m.activity);
        // Success rate: one stacked bar.
        l.need(50.0);
        l.line(LEFT, Font::SansBold, 9.5, BLACK, "Success rate", 16.0);
        l.y -= 20.0;
        let (w, y) = (RIGHT - LEFT, l.y);
        l.rect(LEFT, y, w, 14.0, LIGHT);
        let ok = (m.ok_len as f32 / 100.0) * w;
        let failed = (m.failed_len as f32 / 100.0) * w;
        l.rect(LEFT, y, ok, 14.0, GREEN);
        l.rect(LEFT + ok, y, failed, 14.0, RED);
        l.line(
            LEFT,
            Font::Sans,
            8.0,
            GRAY,
            &format!(
                "successful {}% · failed {}% · not recorded {}",
                m.s.ok_pct, m.s.failed_pct, m.s.unknown
            ),
            12.0,
        );
        l.y -= 6.0;
        l.hbars("By event type", &m.by_event_type);
        l.hbars("By action", &m.by_action);
        l.hbars("By actor", &m.by_actor);
        l.hbars("By tool / source", &m.by_source);
    }
    l.heading(&format!("Entries ({})", m.rows.len()));
    if m.rows.is_empty() {
        l.paragraph("No entries.", 9.0, BLACK);
    } else {
        entries(&mut l, m);
    }
    let pages = l.finish(&m.title);

    let mut pdf = Pdf::new();
    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let info = Ref::new(3);
    let fonts = [
        (Font::Sans, Ref::new(4), "Helvetica"),
        (Font::SansBold, Ref::new(5), "Helvetica-Bold"),
        (Font::Mono, Ref::new(6), "Courier"),
        (Font::MonoBold, Ref::new(7), "Courier-Bold"),
    ];
    let first_page = 8;
    let page_ref = |i: usize| Ref::new(first_page + 2 * i as i32);
    let content_ref = |i: usize| Ref::new(first_page + 2 * i as i32 + 1);
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree)
        .kids((0..pages.len()).map(page_ref))
        .count(pages.len() as i32);
    let now = Utc::now();
    let date = Date::new(u16::try_from(now.year()).unwrap_or(1970))
        .month(now.month() as u8)
        .day(now.day() as u8)
        .hour(now.hour() as u8)
        .minute(now.minute() as u8)
        .second(now.second() as u8)
        .utc_offset_hour(0)
        .utc_offset_minute(0);
    let producer = format!("evident {}", crate::VERSION);
    pdf.document_info(info)
        .title(TextStr(&m.title))
        .producer(TextStr(&producer))
        .creator(TextStr(&producer))
        .creation_date(date);
    for (_, id, base) in fonts {
        pdf.type1_font(id)
            .base_font(Name(base.as_bytes()))
            .encoding_predefined(Name(b"WinAnsiEncoding"));
    }
    for (i, content) in pages.iter().enumerate() {
        let mut page = pdf.page(page_ref(i));
        page.media_box(Rect::new(0.0, 0.0, PAGE_W, PAGE_H))
            .parent(tree)
            .contents(content_ref(i));
        let mut res = page.resources();
        let mut f = res.fonts();
        for (font, id, _) in fonts {
            f.pair(font.name(), id);
        }
        f.finish();
        res.finish();
        page.finish();
        pdf.stream(content_ref(i), content);
    }
    pdf.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn win_ansi_maps_windows_1252_and_nothing_else() {
        assert_eq!(win_ansi('A'), Some(b'A'));
        assert_eq!(win_ansi('é'), Some(0xe9));
        assert_eq!(win_ansi('€'), Some(0x80));
        assert_eq!(win_ansi('—'), Some(0x97));
        assert_eq!(win_ansi('中'), None);
        assert_eq!(win_ansi('\n'), None);
        assert_eq!(displayable("a\tb中✓"), "a b<U+4E2D><U+2713>");
    }

    #[test]
    fn characters_that_show_nothing_are_shown_as_code_points() {
        // U+00AD is in Windows-1252, but a soft hyphen shows nothing: `alice`
        // followed by one must not look like `alice`.
        assert_eq!(displayable("alice\u{ad}"), "alice<U+00AD>");
        assert_eq!(displayable("a\u{200b}\u{202e}b"), "a<U+200B><U+202E>b");
    }

    #[test]
    fn wrap_keeps_every_character_and_respects_the_width() {
        let s = "{\"user\":\"analyst\",\"rows\":12000,\"columns\":[\"age\",\"income\",\"zip\"],\"note\":\"a long free text that goes on\"}";
        for width in [8, 13, 40, 200] {
            let lines = wrap(s, width);
            assert!(lines.iter().all(|l| l.chars().count() <= width.max(8)));
            assert_eq!(lines.concat(), s);
        }
        assert_eq!(cut("abcdef", 4), "abc…");
        assert_eq!(cut("abc", 4), "abc");
    }

    #[test]
    fn table_cells_wrap_in_their_columns_instead_of_being_cut() {
        let rows = table_rows([
            "2026-12-04T10:00:00Z",
            "data_transformation_with_a_long_name",
            "normalise",
            "ana",
            "secureml",
            "ok",
            "1.2s",
        ]);
        assert_eq!(rows.len(), 2, "{rows:?}");
        let event_col = |r: &str| r.chars().skip(21).take(20).collect::<String>();
        let joined: String = rows
            .iter()
            .map(|r| event_col(r).trim_end().to_string())
            .collect();
        assert_eq!(joined, "data_transformation_with_a_long_name");
        // A huge cell stops after CELL_LINES lines, cut with an ellipsis.
        let huge = "x".repeat(500);
        let rows = table_rows(["t", "e", &huge, "a", "s", "ok", ""]);
        assert_eq!(rows.len(), CELL_LINES);
        assert!(rows.last().unwrap().contains('…'));
        // The header fits on one line.
        assert_eq!(table_rows(COLS.map(|(h, _)| h)).len(), 1);
    }

    fn pdf_of(entries: &str, title: &str) -> Vec<u8> {
        let entries = crate::report::entries_from_json(entries).unwrap();
        let opts = crate::report::ReportOptions {
            title: Some(title.into()),
            ..Default::default()
        };
        let bytes = crate::report::render_pdf(&entries, &[], &opts);
        assert!(bytes.starts_with(b"%PDF-1.7") && bytes.trim_ascii_end().ends_with(b"%%EOF"));
        bytes
    }

    #[test]
    fn empty_long_and_hostile_reports_render() {
        let empty = pdf_of("[]", "");
        assert!(empty.windows(13).any(|w| w == b"(No entries.)"));
        // a title of many lines, control characters, a huge details value,
        // an error with line breaks: laid out, nothing panics
        let title = "W".repeat(300) + "\u{0}\u{7}\r\n" + &"中".repeat(50);
        let big = "x".repeat(100_000);
        let entries = serde_json::json!([
            {"ts": "2026-01-01T00:00:00Z", "event_type": "\u{1b}[31m", "action": big,
             "actor": "a\tb", "success": false, "error": "line 1\nline 2",
             "details": {"blob": big, "nested": {"k": [1, 2, 3]}}},
            {"ts": "2026-01-02T00:00:00Z", "event_type": "e", "details": null},
        ]);
        let pdf = pdf_of(&entries.to_string(), &title);
        // the details are cut at 400 characters, as in the HTML report
        assert!(pdf.len() < 60_000, "{} bytes", pdf.len());
    }
}
