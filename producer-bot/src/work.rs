//! Acting on applications: the lists a participant or client sees (waiting for my role, my work,
//! my applications), one application's card with the actions the person may take now, and the
//! publishing of each action as a transition request for the workflow stage.
//!
//! The bot checks what it can before publishing (the role may take the action, it is legal from
//! the state, the state is still the one the person saw); the workflow stage checks it all again
//! in a transaction, so two people pressing "assign" at the same moment leave one assignment, and
//! the second is told so.

use crate::applications::{self, AppView};
use crate::flow::{Ctx, Reply, args_of, text_error};
use crate::people::Person;
use crate::screens::{Button, Screen, page_count, push_pager};
use crate::session::{ListKind, PendingAction, Session, Step};
use crate::texts::{MenuEntry, action, kind, role, state, t, ta};
use ariza_shared::domain::{
    Actor, ApplicationId, Comment, CorrelationId, GlobalAction, Locale, RequestId, Role, SCHEMA_VERSION, TransitionRequest,
    WorkflowCommand,
};
use ariza_shared::errors::{Field, TransitionRejection, UserError as _};
use ariza_shared::permissions;
use ariza_shared::validation::check_transition_fields;
use ariza_shared::workflow::{State, TransitionName};
use chrono::{DateTime, FixedOffset, Utc};
use serde_json::json;

/// Whether `step` is handled here.
pub fn owns(step: &Step) -> bool {
    matches!(
        step,
        Step::Apps { .. } | Step::FindApp | Step::Card { .. } | Step::PickTechnician { .. } | Step::ActionText | Step::ActionFailed
    )
}

/// The menu entries a person has besides creating applications.
pub fn menu_entries(person: &Person) -> Vec<MenuEntry> {
    let mut out = Vec::new();
    if !applications::waiting_states(person.role).is_empty() {
        out.push(MenuEntry::Waiting);
    }
    if person.role == Role::Technician {
        out.push(MenuEntry::MyWork);
    }
    if person.staff_id().is_some() && !permissions::of(person.role).transitions.is_empty() {
        out.push(MenuEntry::FindApp);
    }
    if person.client().is_some() {
        out.push(MenuEntry::Mine);
    }
    out
}

fn not_for_role(l: Locale) -> Reply {
    Reply::notice(t(l, "bot-not-for-role"))
}

/// A menu entry other than creating.
pub async fn menu(_ctx: &Ctx<'_>, person: &Person, s: &mut Session, entry: MenuEntry) -> anyhow::Result<Reply> {
    let l = person.language;
    // Opening an application by its number is for every staff member (the menu shows it to those
    // who can act on what they open); the lists are for the roles they belong to.
    let allowed = menu_entries(person).contains(&entry) || (entry == MenuEntry::FindApp && person.staff_id().is_some());
    if !allowed {
        return Ok(not_for_role(l));
    }
    s.reset();
    s.go(match entry {
        MenuEntry::Waiting => Step::Apps { list: ListKind::Waiting, page: 0 },
        MenuEntry::MyWork => Step::Apps { list: ListKind::MyWork, page: 0 },
        MenuEntry::Mine => Step::Apps { list: ListKind::Mine, page: 0 },
        MenuEntry::FindApp | MenuEntry::New(_) => Step::FindApp,
    });
    Ok(Reply::default())
}

/// `/apps`, `/work`, `/mine`, `/app <number>`.
pub async fn command(ctx: &Ctx<'_>, person: &Person, s: &mut Session, command: &str, args: &str) -> anyhow::Result<Reply> {
    match command {
        "apps" => menu(ctx, person, s, MenuEntry::Waiting).await,
        "work" => menu(ctx, person, s, MenuEntry::MyWork).await,
        "mine" => menu(ctx, person, s, MenuEntry::Mine).await,
        _ if args.is_empty() => menu(ctx, person, s, MenuEntry::FindApp).await,
        _ => find_by_number(ctx, person, s, args).await,
    }
}

async fn find_by_number(ctx: &Ctx<'_>, person: &Person, s: &mut Session, text: &str) -> anyhow::Result<Reply> {
    let l = person.language;
    let digits = text.trim().trim_start_matches(['#', '№']).trim();
    let Ok(number) = digits.parse::<i64>() else {
        return Ok(Reply::notice(t(l, "bot-app-number-invalid")));
    };
    match applications::by_number(ctx.pool, number).await? {
        Some(app) if applications::may_see(person, &app) => {
            s.reset();
            s.go(Step::Card { app: app.app_id(), seen: app.state(), back: None });
            Ok(Reply::default())
        }
        _ => Ok(Reply::notice(ta(l, "bot-app-not-found", &[("number", json!(number))]))),
    }
}

/// A button under a notification: it works whatever dialogue the person is in, and replaces it.
pub async fn global(ctx: &Ctx<'_>, person: &Person, s: &mut Session, pressed: GlobalAction) -> anyhow::Result<Reply> {
    let l = person.language;
    let id = match pressed {
        GlobalAction::Open(id) | GlobalAction::Rate(id, _) => id,
    };
    let app = match applications::by_id(ctx.pool, id).await? {
        Some(app) if applications::may_see(person, &app) => app,
        _ => return Ok(Reply::toast(t(l, "bot-stale-button"))),
    };
    s.reset();
    match pressed {
        GlobalAction::Open(_) => {
            s.go(Step::Card { app: id, seen: app.state(), back: None });
            Ok(Reply::default())
        }
        GlobalAction::Rate(_, stars) => begin_rating(person, s, &app, stars, None),
    }
}

pub async fn on_text(ctx: &Ctx<'_>, person: &Person, s: &mut Session, text: &str) -> anyhow::Result<Reply> {
    let l = person.language;
    match &s.step {
        Step::FindApp => find_by_number(ctx, person, s, text).await,
        Step::ActionText => {
            let Some(pending) = s.draft.action.as_mut() else {
                s.go(Step::Menu);
                return Ok(Reply::notice(t(l, "bot-use-buttons")));
            };
            let field = match pending.transition {
                TransitionName::Cancel => Field::Reason,
                TransitionName::Complete => Field::Report,
                _ => Field::Comment,
            };
            match Comment::parse(text) {
                Ok(comment) => pending.comment = Some(comment.as_str().to_owned()),
                Err(e) => return Ok(Reply::notice(text_error(l, field, e))),
            }
            commit(ctx, person, s).await
        }
        _ => Ok(Reply::notice(t(l, "bot-use-buttons"))),
    }
}

pub async fn on_action(ctx: &Ctx<'_>, person: &Person, s: &mut Session, pressed: &str) -> anyhow::Result<Reply> {
    let l = person.language;
    let stale = || Ok(Reply::toast(t(l, "bot-stale-button")));
    match (s.step.clone(), pressed) {
        (Step::Apps { list, .. }, a) if a.starts_with("pg") => match a[2..].parse() {
            Ok(page) => s.go(Step::Apps { list, page }),
            Err(_) => return stale(),
        },
        (Step::Apps { list, .. }, a) if a.starts_with('v') => {
            let Ok(id) = a[1..].parse::<ApplicationId>() else { return stale() };
            return open(ctx, person, s, id, Some(list)).await;
        }
        (Step::Apps { .. } | Step::FindApp, "bk") => s.reset(),
        (Step::Card { app, back, .. }, "rf") => return open(ctx, person, s, app, back).await,
        (Step::Card { back: Some(list), .. }, "bk") => s.go(Step::Apps { list, page: 0 }),
        (Step::Card { back: None, .. }, "bk") => s.reset(),
        (Step::Card { app, seen, back }, a) if a.starts_with("a:") => {
            let Ok(transition) = a[2..].parse::<TransitionName>() else { return stale() };
            return begin(ctx, person, s, (app, seen, back), transition).await;
        }
        (Step::Card { app, seen, back }, a) if a.starts_with("rt") => {
            let Ok(stars) = a[2..].parse::<u8>() else { return stale() };
            let Some(view) = applications::by_id(ctx.pool, app).await? else { return stale() };
            if view.state() != seen {
                return refreshed(person, s, &view, back);
            }
            return begin_rating(person, s, &view, stars, back);
        }
        (Step::PickTechnician { .. }, a) if a.starts_with("pg") => match a[2..].parse() {
            Ok(page) => s.go(Step::PickTechnician { page }),
            Err(_) => return stale(),
        },
        (Step::PickTechnician { .. }, a) if a.starts_with('t') => {
            let (Ok(id), Some(pending)) = (a[1..].parse::<i64>(), s.draft.action.as_mut()) else { return stale() };
            pending.assignee = Some(id);
            return commit(ctx, person, s).await;
        }
        (Step::ActionText, "sk") => {
            let optional = s.draft.action.as_ref().is_some_and(|p| matches!(p.transition, TransitionName::Withdraw | TransitionName::Rate));
            if !optional {
                return stale();
            }
            return commit(ctx, person, s).await;
        }
        (Step::PickTechnician { .. } | Step::ActionText, "bk") => {
            let Some(pending) = s.draft.action.take() else { return stale() };
            return open(ctx, person, s, pending.app, pending.back).await;
        }
        (Step::ActionFailed, "rt") => return commit(ctx, person, s).await,
        _ => return stale(),
    }
    Ok(Reply::default())
}

/// Shows an application's card with its current state.
async fn open(ctx: &Ctx<'_>, person: &Person, s: &mut Session, id: ApplicationId, back: Option<ListKind>) -> anyhow::Result<Reply> {
    match applications::by_id(ctx.pool, id).await? {
        Some(app) if applications::may_see(person, &app) => {
            s.draft.action = None;
            s.go(Step::Card { app: id, seen: app.state(), back });
            Ok(Reply::default())
        }
        _ => Ok(Reply::toast(t(person.language, "bot-stale-button"))),
    }
}

/// The application changed since the person looked: show it as it is now, and say so.
fn refreshed(person: &Person, s: &mut Session, app: &AppView, back: Option<ListKind>) -> anyhow::Result<Reply> {
    let l = person.language;
    s.draft.action = None;
    s.go(Step::Card { app: app.app_id(), seen: app.state(), back });
    Ok(Reply::notice(ta(l, "bot-app-changed", &[("number", json!(app.number)), ("state", json!(state(l, app.state())))])))
}

/// Starts `transition` on the card's application: checks it, then asks for what it needs.
async fn begin(
    ctx: &Ctx<'_>,
    person: &Person,
    s: &mut Session,
    (id, seen, back): (ApplicationId, State, Option<ListKind>),
    transition: TransitionName,
) -> anyhow::Result<Reply> {
    let l = person.language;
    let Some(app) = applications::by_id(ctx.pool, id).await? else {
        return Ok(Reply::toast(t(l, "bot-stale-button")));
    };
    if app.state() != seen {
        return refreshed(person, s, &app, back);
    }
    if !applications::actions(person, &app).contains(&transition) {
        // A forged or replayed button: the same answer as the pipeline would give.
        let e = permissions::check_transition(person.role, transition)
            .err()
            .map_or(TransitionRejection::Illegal { transition, from: app.state() }, TransitionRejection::Permission);
        return Ok(Reply::notice(ta(l, &e.message_key(), &args_of(&e.message_args()))));
    }
    s.draft.action = Some(PendingAction {
        request_id: RequestId::new(),
        app: id,
        number: app.number,
        seen,
        transition,
        assignee: None,
        comment: None,
        rating: None,
        back,
    });
    match transition {
        TransitionName::Assign => {
            s.go(Step::PickTechnician { page: 0 });
            Ok(Reply::default())
        }
        TransitionName::Cancel | TransitionName::Complete | TransitionName::Withdraw | TransitionName::Rate => {
            s.go(Step::ActionText);
            Ok(Reply::default())
        }
        TransitionName::Start | TransitionName::WaitEquipment | TransitionName::Resume | TransitionName::Route => {
            commit(ctx, person, s).await
        }
    }
}

/// A client chose a rating for a completed application: the comment is asked next (optional).
fn begin_rating(person: &Person, s: &mut Session, app: &AppView, stars: u8, back: Option<ListKind>) -> anyhow::Result<Reply> {
    let l = person.language;
    if !applications::actions(person, app).contains(&TransitionName::Rate) {
        let e = TransitionRejection::Illegal { transition: TransitionName::Rate, from: app.state() };
        return Ok(Reply::notice(ta(l, &e.message_key(), &args_of(&e.message_args()))));
    }
    if !(1..=5).contains(&stars) {
        return Ok(Reply::toast(t(l, "error-rating-range")));
    }
    s.draft.action = Some(PendingAction {
        request_id: RequestId::new(),
        app: app.app_id(),
        number: app.number,
        seen: app.state(),
        transition: TransitionName::Rate,
        assignee: None,
        comment: None,
        rating: Some(stars),
        back,
    });
    s.go(Step::ActionText);
    Ok(Reply::default())
}

/// Publishes the pending action. Its request id was fixed when it was chosen and is saved before
/// the first attempt, so a retry is the same request.
async fn commit(ctx: &Ctx<'_>, person: &Person, s: &mut Session) -> anyhow::Result<Reply> {
    let l = person.language;
    let Some(pending) = s.draft.action.clone() else {
        s.reset();
        return Ok(Reply::notice(t(l, "bot-use-buttons")));
    };
    match applications::by_id(ctx.pool, pending.app).await? {
        Some(app) if app.state() != pending.seen => return refreshed(person, s, &app, pending.back),
        Some(_) => {}
        None => {
            s.reset();
            return Ok(Reply::notice(t(l, "error-application-not-found")));
        }
    }
    let request = TransitionRequest {
        schema: SCHEMA_VERSION,
        request_id: pending.request_id,
        application_id: pending.app,
        correlation_id: CorrelationId(pending.request_id.0),
        transition: pending.transition,
        actor: Actor { telegram_id: person.telegram_id, role: person.role },
        expected_state: pending.seen,
        assignee_staff_id: pending.assignee,
        comment: pending.comment.clone(),
        rating: pending.rating,
        requested_at: Utc::now(),
    };
    if let Err(e) = check_transition_fields(&request) {
        s.go(Step::ActionText);
        return Ok(Reply::notice(ta(l, &e.message_key(), &args_of(&e.message_args()))));
    }
    ctx.storage.save(ctx.chat_id, s).await?;
    match ctx.publisher.publish_workflow(&WorkflowCommand::Transition(request)).await {
        Ok(()) => {
            tracing::info!(application_id = %pending.app, transition = %pending.transition, "action published");
            let sent = ta(l, "bot-action-sent", &[("action", json!(action(l, pending.transition))), ("number", json!(pending.number))]);
            s.reset();
            if let Some(list) = pending.back {
                s.go(Step::Apps { list, page: 0 });
            }
            Ok(Reply::closed(sent))
        }
        Err(e) => {
            tracing::warn!(application_id = %pending.app, error = %e, "publishing an action failed, kept for a retry");
            s.go(Step::ActionFailed);
            Ok(Reply::default())
        }
    }
}

/// Telegram users here live in Tashkent (UTC+5, no daylight saving).
fn local(at: DateTime<Utc>) -> String {
    const FORMAT: &str = "%d.%m.%Y %H:%M";
    FixedOffset::east_opt(5 * 3600)
        .map_or_else(|| at.format(FORMAT).to_string(), |tashkent| at.with_timezone(&tashkent).format(FORMAT).to_string())
}

/// Who created the application: a staff member (and in which role) for the client, or the client.
fn origin(l: Locale, app: &AppView) -> String {
    match (app.creation_source.as_str(), app.creator_role()) {
        ("staff", Some(r)) => ta(
            l,
            "bot-app-by-staff",
            &[("name", json!(app.creator_name.clone().unwrap_or_default())), ("role", json!(role(l, r)))],
        ),
        _ => t(l, "bot-app-by-client"),
    }
}

fn line(l: Locale, app: &AppView) -> String {
    ta(
        l,
        "bot-app-line",
        &[
            ("number", json!(app.number)),
            ("kind", json!(kind(l, app.kind()))),
            ("state", json!(state(l, app.state()))),
            ("client", json!(app.client_name)),
            ("address", json!(app.address)),
            ("origin", json!(origin(l, app))),
            ("created", json!(local(app.created_at))),
        ],
    )
}

/// The full card of one application.
pub fn card_text(l: Locale, app: &AppView) -> String {
    let mut text = ta(
        l,
        "bot-app-card",
        &[
            ("number", json!(app.number)),
            ("kind", json!(kind(l, app.kind()))),
            ("state", json!(state(l, app.state()))),
            ("client", json!(app.client_name)),
            ("phone", json!(app.client_phone)),
            ("address", json!(app.address)),
            ("origin", json!(origin(l, app))),
            ("created", json!(local(app.created_at))),
        ],
    );
    let extras = [
        ("bot-app-tariff", app.tariff.clone()),
        ("bot-app-problem", app.problem.clone()),
        ("bot-app-comment", app.comment.clone()),
        ("bot-app-assignee", app.assignee_name.clone()),
        ("bot-app-report", app.completion_report.clone()),
        ("bot-app-cancel-reason", app.cancel_reason.clone()),
    ];
    for (key, value) in extras {
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            text.push('\n');
            text.push_str(&ta(l, key, &[("value", json!(value))]));
        }
    }
    if let Some(rating) = app.rating {
        text.push('\n');
        text.push_str(&ta(
            l,
            "bot-app-rating",
            &[("rating", json!(rating)), ("comment", json!(app.rating_comment.clone().unwrap_or_default()))],
        ));
    }
    text
}

fn back(l: Locale) -> Vec<Button> {
    vec![Button::new(t(l, "bot-btn-back"), "bk")]
}

/// The screen of a step handled here.
pub async fn render(pool: &sqlx::PgPool, person: &Person, s: &Session, page_size: u16) -> Result<Screen, sqlx::Error> {
    let l = person.language;
    Ok(match &s.step {
        Step::Apps { list, page } => {
            let found = applications::list(pool, person, *list, *page, page_size).await?;
            let pages = page_count(found.total, page_size);
            let key = match list {
                ListKind::Waiting => "bot-apps-waiting",
                ListKind::MyWork => "bot-apps-my-work",
                ListKind::Mine => "bot-apps-mine",
            };
            let mut text = ta(l, key, &[("count", json!(found.total)), ("page", json!(page + 1)), ("pages", json!(pages))]);
            if found.rows.is_empty() {
                text.push_str("\n\n");
                text.push_str(&t(l, "bot-apps-empty"));
            }
            let mut buttons = Vec::new();
            for app in &found.rows {
                text.push_str("\n\n");
                text.push_str(&line(l, app));
                buttons.push(vec![Button::new(
                    format!("№{} · {} · {}", app.number, app.client_name, state(l, app.state())),
                    format!("v{}", app.id),
                )]);
            }
            push_pager(&mut buttons, l, *page, pages);
            buttons.push(back(l));
            Screen::inline(text, buttons)
        }
        Step::FindApp => Screen::inline(t(l, "bot-ask-app-number"), vec![back(l)]),
        Step::Card { app, .. } => match applications::by_id(pool, *app).await? {
            Some(view) => {
                let mut buttons: Vec<Vec<Button>> = Vec::new();
                for transition in applications::actions(person, &view) {
                    if transition == TransitionName::Rate {
                        buttons.push(
                            (1..=5u8).map(|n| Button::new(ta(l, "bot-btn-stars", &[("n", json!(n))]), format!("rt{n}"))).collect(),
                        );
                    } else {
                        buttons.push(vec![Button::new(action(l, transition), format!("a:{transition}"))]);
                    }
                }
                buttons.push(vec![Button::new(t(l, "bot-btn-refresh"), "rf"), Button::new(t(l, "bot-btn-back"), "bk")]);
                Screen::inline(card_text(l, &view), buttons)
            }
            None => Screen::inline(t(l, "error-application-not-found"), vec![back(l)]),
        },
        Step::PickTechnician { page } => {
            let number = s.draft.action.as_ref().map_or(0, |p| p.number);
            let (techs, total) = applications::technicians(pool, *page, page_size).await?;
            let mut buttons: Vec<Vec<Button>> = techs
                .iter()
                .map(|tech| {
                    let label = ta(l, "bot-technician-load", &[("name", json!(tech.full_name)), ("open", json!(tech.open))]);
                    vec![Button::new(label, format!("t{}", tech.id))]
                })
                .collect();
            push_pager(&mut buttons, l, *page, page_count(total, page_size));
            buttons.push(back(l));
            let text = if total == 0 { t(l, "bot-no-technicians") } else { ta(l, "bot-pick-technician", &[("number", json!(number))]) };
            Screen::inline(text, buttons)
        }
        Step::ActionText => {
            let pending = s.draft.action.as_ref();
            let (key, optional) = match pending.map(|p| p.transition) {
                Some(TransitionName::Cancel) => ("bot-ask-reason", false),
                Some(TransitionName::Complete) => ("bot-ask-report", false),
                Some(TransitionName::Withdraw) => ("bot-ask-withdraw-reason", true),
                _ => ("bot-ask-rating-comment", true),
            };
            let number = pending.map_or(0, |p| p.number);
            let mut buttons = Vec::new();
            if optional {
                buttons.push(vec![Button::new(t(l, "bot-btn-skip"), "sk")]);
            }
            buttons.push(back(l));
            Screen::inline(ta(l, key, &[("number", json!(number)), ("rating", json!(pending.and_then(|p| p.rating).unwrap_or(0)))]), buttons)
        }
        Step::ActionFailed => {
            let (number, transition) = s.draft.action.as_ref().map_or((0, TransitionName::Start), |p| (p.number, p.transition));
            Screen::inline(
                ta(l, "bot-action-failed", &[("action", json!(action(l, transition))), ("number", json!(number))]),
                vec![vec![Button::new(t(l, "bot-btn-retry"), "rt")], vec![Button::new(t(l, "bot-btn-cancel"), "x")]],
            )
        }
        _ => Screen::inline(t(l, "bot-use-buttons"), Vec::new()),
    })
}
