// The calendar page: FullCalendar over /calendar/events. Settings come from
// <script type="application/json" id="calendar-config"> (no inline script: the CSP forbids it).
// FullCalendar runs in its "UTC" mode as a floating clock: the server sends and receives naive times
// in the configured time zone, so the student's computer clock plays no part.
(function () {
  "use strict";

  function pad(n) { return String(n).padStart(2, "0"); }

  // A Date of FullCalendar's UTC mode as the naive local text the server reads ("2026-12-03T09:30:00").
  function naive(date, withTime) {
    const day = `${date.getUTCFullYear()}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())}`;
    return withTime ? `${day}T${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:00` : day;
  }

  function start() {
    const element = document.getElementById("calendar");
    const source = document.getElementById("calendar-config");
    if (!element || !source || typeof FullCalendar === "undefined") { return; }
    const config = JSON.parse(source.textContent);
    const message = document.getElementById("calendar-message");

    function say(text, kind) {
      message.textContent = text;
      message.className = `alert alert-${kind} py-2 small`;
      message.dataset.kind = kind;
    }

    async function move(info) {
      const event = info.event;
      const kind = event.extendedProps.kind;
      if (kind === "event" && event.allDay) {
        info.revert();
        say(config.messages.allDay, "warning");
        return;
      }
      const body = { version: event.extendedProps.version, start: naive(event.start, kind === "event") };
      let answer = null;
      let data = {};
      try {
        answer = await fetch(config.move.replace(/\/0\/move$/, `/${event.id}/move`), {
          method: "POST",
          headers: { "Content-Type": "application/json", "X-CSRFToken": config.csrf, "Accept": "application/json" },
          body: JSON.stringify(body),
          credentials: "same-origin",
        });
        data = await answer.json().catch(() => ({}));
      } catch (_err) {
        answer = null;
      }
      if (!answer || !answer.ok) {
        info.revert();
        const text = data.error || config.messages.failed;
        // A stale version: the server's own wording speaks of a form to reload; the calendar refetches instead.
        say(answer && answer.status === 409 ? config.messages.stale : text, "danger");
        if (answer && answer.status === 409) { calendar.refetchEvents(); }
        return;
      }
      event.setExtendedProp("version", data.version);
      say(config.messages.moved.replace("{subject}", data.subject), "success");
      // Tasks dropped on a time slot become all-day again, events show their kept duration.
      calendar.refetchEvents();
    }

    const calendar = new FullCalendar.Calendar(element, {
      timeZone: "UTC",
      now: config.now,
      locale: config.locale,
      buttonText: { today: config.texts.today, month: config.texts.month, week: config.texts.week,
                    day: config.texts.day },
      allDayText: config.texts.allDay,
      moreLinkText: config.texts.more,
      initialView: config.view,
      initialDate: config.date,
      headerToolbar: { left: "prev,next today", center: "title", right: "dayGridMonth,timeGridWeek,timeGridDay" },
      firstDay: 1,
      // The month fits the page; the time grids scroll inside a fixed height, opening at 08:00.
      height: 760,
      views: { dayGridMonth: { height: "auto" } },
      eventDisplay: "block",
      nowIndicator: true,
      dayMaxEvents: 6,
      scrollTime: "08:00:00",
      eventTimeFormat: { hour: "2-digit", minute: "2-digit", hour12: false },
      slotLabelFormat: { hour: "2-digit", minute: "2-digit", hour12: false },
      selectable: config.canCreate,
      // Dragging is per event ("startEditable" from the server: writable, and not a completed task).
      editable: false,
      eventDurationEditable: false,
      events: { url: config.events, extraParams: { who: config.who },
                failure: () => say(config.messages.failed, "danger") },
      select: (info) => {
        const params = new URLSearchParams();
        if (info.allDay) {
          params.set("kind", "task");
          params.set("due_date", naive(info.start, false));
        } else {
          params.set("kind", "event");
          params.set("start_at", naive(info.start, true).slice(0, 16));
          params.set("end_at", naive(info.end, true).slice(0, 16));
        }
        window.location.assign(`${config.newActivity}?${params.toString()}`);
      },
      eventDrop: move,
      // The URL (and the "whose calendar" form) follow the shown view and date, so a reload or a
      // bookmark opens the same screen.
      datesSet: (info) => {
        const name = { dayGridMonth: "month", timeGridWeek: "week", timeGridDay: "day" }[info.view.type];
        const day = naive(calendar.getDate(), false);
        const url = new URL(window.location.href);
        url.searchParams.set("view", name);
        url.searchParams.set("date", day);
        window.history.replaceState(null, "", url.toString());
        const form = document.querySelector("[data-testid='calendar-who']");
        if (form) {
          form.querySelector("input[name=view]").value = name;
          form.querySelector("input[name=date]").value = day;
        }
      },
      // Month cells cut long titles: the whole title (with its owner and label) shows on hover.
      eventDidMount: (info) => { info.el.title = info.event.title; },
    });
    calendar.render();
    const picker = document.getElementById("who");
    if (picker) { picker.addEventListener("change", () => picker.form.submit()); }
    element.dataset.ready = "1";
    window.sandboxCalendar = calendar;
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
}());
