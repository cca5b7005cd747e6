//! The header with the demo's sources (`fixture::demo_sources_app`): GitHub's and GitLab's
//! budgets in the longest form the width has room for, the line never cut mid-phrase.

use ratatui::Terminal;
use ratatui::backend::TestBackend;

use super::app::App;
use super::fixture;
use super::theme::Theme;

fn render(app: &App, w: u16, h: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal
        .draw(|f| super::ui::draw(f, app, &Theme::PLAIN))
        .unwrap();
    terminal.backend().to_string()
}

/// The header's second line, as drawn at `w` columns (without the backend's quotes and
/// the padding after it).
fn second_line(app: &App, w: u16) -> String {
    let screen = render(app, w, 24);
    let line = screen.lines().nth(1).unwrap();
    line.trim_matches('"').trim_end().to_string()
}

#[test]
fn demo_sources_at_80x24() {
    let app = fixture::demo_sources_app();
    let screen = render(&app, 80, 24);
    insta::assert_snapshot!(screen);
}

#[test]
fn demo_sources_at_200x60() {
    let app = fixture::demo_sources_app();
    let screen = render(&app, 200, 60);
    assert!(
        screen.contains("gh 4943/5000 left, 73/600 a min · gl 1987/2000 left, 13/600 a min"),
        "{screen}"
    );
    insta::assert_snapshot!(screen);
}

/// At every width the second line ends on a whole phrase: a budget's words are all there or
/// not at all.
#[test]
fn the_budgets_are_never_cut() {
    let app = fixture::demo_sources_app();
    let phrases = [
        "gh 4943/5000 left, 73/600 a min",
        "gl 1987/2000 left, 13/600 a min",
        "gh 4943/5000 left",
        "gl 1987/2000 left",
        "gh 4943/5000 left, +1 more",
        "gh, gl budgets ok",
    ];
    let mut forms = std::collections::BTreeSet::new();
    for w in 60..=200 {
        let line = second_line(&app, w);
        let last = line.rsplit(" · ").next().unwrap();
        assert!(
            last.starts_with("data ") || phrases.contains(&last),
            "{w}: the line ends with {last:?}: {line}"
        );
        forms.insert(last.to_string());
    }
    // Each shorter form is seen on the way down, and at last none.
    assert_eq!(forms.len(), 5, "{forms:?}");
}
