import { t } from "./words.js";

// ---------------------------------------------------------------- DOM

export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") element.className = value;
    else if (name === "dataset") Object.assign(element.dataset, value);
    else if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name in element && typeof value !== "string") element[name] = value;
    else element.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

/** A table cell that says its column on a phone (the table turns into cards there). */
export function cell(label, attributes, ...children) {
  return h("td", { ...attributes, dataset: { label: t(label), ...(attributes.dataset || {}) } }, ...children);
}

export const SVG = "http://www.w3.org/2000/svg";
export function padlock(closed) {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.classList.add("padlock");
  const shackle = document.createElementNS(SVG, "path");
  shackle.setAttribute("d", closed ? "M7 11V7a5 5 0 0 1 10 0v4" : "M7 11V7a5 5 0 0 1 9.6-2");
  const body = document.createElementNS(SVG, "rect");
  for (const [k, v] of Object.entries({ x: 4, y: 11, width: 16, height: 10, rx: 2 })) body.setAttribute(k, v);
  svg.append(shackle, body);
  return svg;
}

export function show(element, visible = true) { element.hidden = !visible; }
