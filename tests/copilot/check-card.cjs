#!/usr/bin/env node
// Checks an Adaptive Card the way an Agent Copilot tile would show it, with Microsoft's own
// `adaptivecards` package (parser, validator and HTML renderer) on a jsdom document:
//
//   node tests/copilot/check-card.cjs ANSWER.json [--expect TEXT]...
//
// ANSWER.json is the enrich answer (its `card` is checked) or a bare card. The card must parse
// with a serialization context targeting 1.5 without a single warning or error, pass
// `validateProperties` clean, and render to HTML; every --expect TEXT must appear in the
// rendered text; and the render must hold no link at all (the card has none of its own, so any
// link came from upstream text read as markup).
//
// The renderer only reads markdown when the host gives it a processor; this one is given
// markdown-it, as hosts that render markdown do, so markdown in upstream text would really
// become a link here. Before checking the card, the script proves each check can fail on this
// very setup (a raw markdown link renders as a link, the card's DATE function is expanded,
// a bad property value is reported, a duplicate id fails validation).
//
// Prints a JSON summary on stdout; exits 1 naming every failed check.
"use strict";

const fs = require("fs");
const path = require("path");
const { JSDOM } = require("jsdom");

const dom = new JSDOM("<!DOCTYPE html><html><body></body></html>", { pretendToBeVisual: true });
// The renderer is written for a browser: it uses these as globals.
for (const name of ["window", "document", "navigator", "HTMLElement", "Node", "Element"]) {
  global[name] = name === "window" ? dom.window : dom.window[name];
}
// jsdom has no `innerText` (it needs layout), and the renderer sets plain text through it. A
// browser's setter replaces the children with the text (line breaks as <br>, and the card's
// text here is one line), so textContent is the faithful stand-in.
if (!Object.getOwnPropertyDescriptor(dom.window.HTMLElement.prototype, "innerText")) {
  Object.defineProperty(dom.window.HTMLElement.prototype, "innerText", {
    get() {
      return this.textContent;
    },
    set(value) {
      this.textContent = value;
    },
    configurable: true,
  });
}
const AC = require("adaptivecards/dist/adaptivecards.js");
const MarkdownIt = require("markdown-it");
AC.AdaptiveCard.onProcessMarkdown = (text, result) => {
  result.outputHtml = new MarkdownIt().render(text);
  result.didProcess = true;
};

const WORD_JOINER = /\u2060/g;

/** Parses, validates and renders `json`; returns what the checks need. */
function examine(json) {
  const card = new AC.AdaptiveCard();
  const context = new AC.SerializationContext(AC.Versions.v1_5);
  card.parse(json, context);
  const parseEvents = [];
  for (let i = 0; i < context.eventCount; i++) {
    const e = context.getEventAt(i);
    parseEvents.push({ phase: e.phase, event: e.event, message: e.message });
  }
  const validation = card
    .validateProperties()
    .validationEvents.map((e) => ({ phase: e.phase, event: e.event, message: e.message }));
  const element = card.render();
  if (element) {
    document.body.appendChild(element);
  }
  const html = element ? element.outerHTML : "";
  // textContent of the whole render; the invisible WORD JOINER the filter puts between `{{`
  // does not change what the agent reads, so it is removed before searching.
  const text = element ? element.textContent.replace(WORD_JOINER, "") : "";
  const links = element
    ? Array.from(element.querySelectorAll("a[href], a")).map((a) => ({
        text: a.textContent,
        href: a.getAttribute("href"),
      }))
    : [];
  if (element) {
    element.remove();
  }
  return { rendered: !!element, parseEvents, validation, html, text, links };
}

function card(body) {
  return { type: "AdaptiveCard", version: "1.5", body };
}

function controls() {
  const failures = [];
  const hostile = "[x](https://evil.example)";
  const raw = examine(
    card([
      { type: "TextBlock", text: hostile },
      { type: "FactSet", facts: [{ title: "t", value: hostile }] },
    ]),
  );
  if (raw.links.length !== 2) {
    failures.push(`control: a raw markdown link should render as a link in a TextBlock and a Fact, got ${JSON.stringify(raw.links)}`);
  }
  const date = examine(
    card([{ type: "RichTextBlock", inlines: [{ type: "TextRun", text: "{{DATE(2024-11-05T08:30:00Z, SHORT)}}" }] }]),
  );
  if (date.text.includes("{{DATE")) {
    failures.push(`control: the card's DATE function should be expanded, got ${JSON.stringify(date.text)}`);
  }
  const badValue = examine(card([{ type: "TextBlock", text: "x", weight: "Heaviest" }]));
  if (badValue.parseEvents.length === 0) {
    failures.push("control: an invalid property value should be reported by the parser");
  }
  const duplicate = examine(
    card([
      { type: "TextBlock", id: "a", text: "x" },
      { type: "TextBlock", id: "a", text: "y" },
    ]),
  );
  if (duplicate.validation.length === 0) {
    failures.push("control: a duplicate id should fail validateProperties");
  }
  return failures;
}

function main(argv) {
  const file = argv[0];
  if (!file) {
    console.error("usage: check-card.cjs ANSWER.json [--expect TEXT]...");
    return 2;
  }
  const expects = [];
  for (let i = 1; i < argv.length; i++) {
    if (argv[i] === "--expect" && i + 1 < argv.length) {
      expects.push(argv[++i]);
    } else {
      console.error(`unknown argument ${argv[i]}`);
      return 2;
    }
  }
  const input = JSON.parse(fs.readFileSync(path.resolve(file), "utf8"));
  const json = input && input.card ? input.card : input;

  const failures = controls();
  if (json.type !== "AdaptiveCard" || json.version !== "1.5") {
    failures.push(`not an Adaptive Card 1.5: type ${json.type}, version ${json.version}`);
  }
  const result = examine(json);
  if (!result.rendered) {
    failures.push("the card rendered nothing");
  }
  for (const e of result.parseEvents) {
    failures.push(`parse (target 1.5): ${e.message}`);
  }
  for (const e of result.validation) {
    failures.push(`validateProperties: ${e.message}`);
  }
  for (const t of expects) {
    if (!result.text.includes(t)) {
      failures.push(`not in the rendered text: ${JSON.stringify(t)}`);
    }
  }
  for (const l of result.links) {
    failures.push(`the render holds a link: ${JSON.stringify(l)}`);
  }
  console.log(
    JSON.stringify({
      parseEvents: result.parseEvents.length,
      validationEvents: result.validation.length,
      expected: expects.length,
      links: result.links.length,
      text: result.text,
      html: result.html,
    }),
  );
  for (const f of failures) {
    console.error(`FAIL ${f}`);
  }
  return failures.length === 0 ? 0 : 1;
}

process.exitCode = main(process.argv.slice(2));
