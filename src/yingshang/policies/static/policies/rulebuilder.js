/* 营商通 — rule editor for policy items (vanilla JS, no build step).
 *
 * Renders the JSON rule held in <textarea id="id_rule"> as nested condition groups
 * (全部满足 / 任一满足 / 不满足) with condition rows built from the field catalogue
 * (<script id="rule-catalog" type="application/json">, from rules.field_catalog). Every edit writes the
 * JSON back into the textarea (which is what the form submits); typing valid JSON into the textarea
 * re-draws the builder. Edits fire a "rule-changed" event on <body> that the HTMX preview listens to.
 * Also draws the ECharts bars of the preview panel after HTMX swaps it in.
 */
(function () {
  "use strict";

  var KIND_LABELS = {all: "全部满足", any: "任一满足", not: "不满足"};
  var LIST_OPS = {"in": true, "not_in": true};

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k];
      else if (k === "class") node.className = attrs[k];
      else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { if (c) node.appendChild(c); });
    return node;
  }

  function option(value, label, selected) {
    var o = el("option", {value: String(value), text: label});
    if (selected) o.selected = true;
    return o;
  }

  // ------------------------------------------------------------ model <-> JSON
  function fromJSON(rule) {
    if (rule === null || typeof rule !== "object" || Array.isArray(rule)) throw new Error("规则应为 JSON 对象");
    if (Object.keys(rule).length === 0) return {type: "group", kind: "all", children: []};
    if (Array.isArray(rule.all)) return {type: "group", kind: "all", children: rule.all.map(fromJSON)};
    if (Array.isArray(rule.any)) return {type: "group", kind: "any", children: rule.any.map(fromJSON)};
    if (rule.not !== undefined) return {type: "group", kind: "not", children: [fromJSON(rule.not)]};
    if (typeof rule.field === "string") {
      var cond = {type: "cond", field: rule.field, op: rule.op || ""};
      if (rule.param !== undefined) cond.param = rule.param; else cond.value = rule.value;
      return cond;
    }
    throw new Error("无法识别的规则节点:" + JSON.stringify(rule).slice(0, 60));
  }

  function toJSON(node, isRoot) {
    if (node.type === "cond") {
      var out = {field: node.field, op: node.op};
      if (node.param !== undefined) out.param = node.param; else out.value = node.value;
      return out;
    }
    var kids = node.children.map(function (c) { return toJSON(c, false); });
    if (node.kind === "not") return {not: kids.length === 1 ? kids[0] : {all: kids}};
    if (isRoot && node.kind === "all" && kids.length === 0) return {};
    var group = {};
    group[node.kind] = kids;
    return group;
  }

  // ------------------------------------------------------------ values per kind
  function defaultValue(spec, op) {
    if (!spec) return "";
    if (op === "between") return spec.kind === "date" ? ["2020-01-01", "2030-12-31"] : [0, 100];
    if (LIST_OPS[op]) return [];
    if (spec.kind === "flag") return false;
    if (spec.kind === "date") return "";
    if (spec.kind === "choice" || spec.kind === "tag" || spec.kind === "certification") {
      return spec.choices && spec.choices.length ? String(spec.choices[0][0]) : "";
    }
    return spec.kind === "ratio" ? 0.03 : 0;
  }

  function parseNumber(text, spec) {
    if (text === "" || text === null) return null;
    var n = Number(text);
    if (!isFinite(n)) return text;  // the server names the problem precisely
    // rd_ratio is stored as a fraction (0.03) but typed as a percentage (3).
    return spec.kind === "ratio" ? parseFloat((n / 100).toFixed(10)) : n;
  }

  function showNumber(value, spec) {
    if (value === null || value === undefined || value === "") return "";
    if (typeof value !== "number") return String(value);
    return spec.kind === "ratio" ? String(parseFloat((value * 100).toFixed(8))) : String(value);
  }

  function scalarInput(spec, value, onChange) {
    var input;
    if (spec.kind === "date") {
      input = el("input", {type: "date", value: value || ""});
      input.addEventListener("change", function () { onChange(input.value); });
    } else {
      input = el("input", {type: "number", step: spec.kind === "age" ? "1" : "any", value: showNumber(value, spec)});
      input.addEventListener("input", function () { onChange(parseNumber(input.value, spec)); });
    }
    var unit = spec.kind === "ratio" ? "%" : spec.unit;
    return el("span", {class: "rb-scalar"}, [input, unit ? el("span", {class: "rb-unit muted", text: unit}) : null]);
  }

  function choiceSelect(spec, value, multiple, onChange) {
    var select = el("select", multiple ? {multiple: "multiple", size: "4"} : {});
    var chosen = multiple ? (Array.isArray(value) ? value.map(String) : []) : [String(value)];
    (spec.choices || []).forEach(function (c) {
      select.appendChild(option(c[0], c[1], chosen.indexOf(String(c[0])) >= 0));
    });
    select.addEventListener("change", function () {
      if (multiple) {
        onChange(Array.prototype.filter.call(select.options, function (o) { return o.selected; })
          .map(function (o) { return o.value; }));
      } else {
        onChange(spec.kind === "flag" ? select.value === "true" : select.value);
      }
    });
    return select;
  }

  function codeInput(spec, value, onChange) {
    // Region and industry codes: typed as a list separated by spaces or commas; descendants included.
    var placeholder = spec.kind === "region" ? "区划代码,如 411602 411621" : "行业代码,如 C 13 6513";
    var input = el("input", {type: "text", class: "rb-codes", placeholder: placeholder,
                             value: Array.isArray(value) ? value.join(" ") : ""});
    input.addEventListener("input", function () {
      onChange(input.value.split(/[\s,,、]+/).filter(Boolean).map(function (s) { return s.toUpperCase(); }));
    });
    return input;
  }

  function valueEditor(spec, cond, changed) {
    var set = function (v) { cond.value = v; changed(); };
    if (!spec) return el("span", {class: "muted", text: "请选择字段"});
    if (cond.param !== undefined) {
      var p = el("input", {type: "text", placeholder: "参数名称", value: cond.param});
      p.addEventListener("input", function () { cond.param = p.value; changed(); });
      return p;
    }
    if (cond.op === "between") {
      var pair = Array.isArray(cond.value) ? cond.value.slice(0, 2) : [null, null];
      return el("span", {class: "rb-between"}, [
        scalarInput(spec, pair[0], function (v) { pair[0] = v; set(pair.slice()); }),
        el("span", {text: " 至 "}),
        scalarInput(spec, pair[1], function (v) { pair[1] = v; set(pair.slice()); })]);
    }
    if (spec.kind === "region" || (spec.kind === "industry")) return codeInput(spec, cond.value, set);
    if (spec.kind === "flag") return choiceSelect(spec, cond.value === true, false, set);
    if (spec.choices) return choiceSelect(spec, cond.value, !!LIST_OPS[cond.op], set);
    return scalarInput(spec, cond.value, set);
  }

  // ------------------------------------------------------------ the builder
  function Builder(root, textarea, catalog) {
    this.root = root;
    this.textarea = textarea;
    this.fields = {};
    this.catalog = catalog;
    var self = this;
    catalog.forEach(function (f) { self.fields[f.name] = f; });
    this.error = document.getElementById("rule-json-error");
    textarea.addEventListener("input", function () { self.load(true); });
    this.load(false);
  }

  Builder.prototype.load = function (fromTyping) {
    var text = this.textarea.value.trim();
    try {
      this.model = fromJSON(text ? JSON.parse(text) : {});
      if (this.model.type === "cond") this.model = {type: "group", kind: "all", children: [this.model]};
      this.showError("");
      this.render();
      if (fromTyping) this.announce();
    } catch (err) {
      this.showError("JSON 有误,条件编辑器暂未更新:" + err.message);
    }
  };

  Builder.prototype.showError = function (message) {
    if (!this.error) return;
    this.error.textContent = message;
    this.error.hidden = !message;
  };

  Builder.prototype.announce = function () {
    document.body.dispatchEvent(new CustomEvent("rule-changed", {bubbles: true}));
  };

  Builder.prototype.sync = function () {
    this.textarea.value = JSON.stringify(toJSON(this.model, true), null, 2);
    this.showError("");
    this.announce();
  };

  Builder.prototype.render = function () {
    this.root.innerHTML = "";
    this.root.appendChild(this.group(this.model, null, "1"));
  };

  Builder.prototype.changed = function (structural) {
    if (structural) this.render();
    this.sync();
  };

  Builder.prototype.group = function (node, parent, path) {
    var self = this;
    var kind = el("select", {class: "rb-kind", "aria-label": "条件组 " + path});
    Object.keys(KIND_LABELS).forEach(function (k) { kind.appendChild(option(k, KIND_LABELS[k], k === node.kind)); });
    kind.addEventListener("change", function () { node.kind = kind.value; self.changed(true); });
    var head = el("div", {class: "rb-group-head"}, [kind, el("span", {class: "muted small", text: parent ? "" : "(顶层)"})]);
    var list = el("div", {class: "rb-children"});
    node.children.forEach(function (child, i) {
      var childPath = path + "." + (i + 1);
      list.appendChild(child.type === "group" ? self.group(child, node, childPath) : self.condition(child, node, childPath));
    });
    if (!node.children.length) list.appendChild(el("div", {class: "muted small rb-empty",
      text: parent ? "空的条件组:请添加条件,否则无法保存" : "不限条件(适用区划内的企业均符合);点“添加条件”开始"}));
    var addCond = el("button", {type: "button", class: "btn btn-small", text: "+ 添加条件"});
    addCond.addEventListener("click", function () {
      var first = self.catalog[0];
      node.children.push({type: "cond", field: first.name, op: first.ops[0][0], value: defaultValue(first, first.ops[0][0])});
      self.changed(true);
    });
    var addGroup = el("button", {type: "button", class: "btn btn-small", text: "+ 添加条件组"});
    addGroup.addEventListener("click", function () { node.children.push({type: "group", kind: "any", children: []}); self.changed(true); });
    var actions = el("div", {class: "rb-actions"}, [addCond, addGroup]);
    if (parent) actions.appendChild(this.removeButton(node, parent, "删除该组"));
    return el("div", {class: "rb-group rb-" + node.kind, "data-path": path}, [head, list, actions]);
  };

  Builder.prototype.removeButton = function (node, parent, label) {
    var self = this;
    var button = el("button", {type: "button", class: "btn btn-small rb-remove", text: label, "aria-label": label});
    button.addEventListener("click", function () {
      parent.children.splice(parent.children.indexOf(node), 1);
      self.changed(true);
    });
    return button;
  };

  Builder.prototype.condition = function (cond, parent, path) {
    var self = this;
    var spec = this.fields[cond.field];
    var field = el("select", {class: "rb-field", "aria-label": "条件 " + path + " 的字段"});
    if (!spec) field.appendChild(option(cond.field, "未知字段 " + cond.field, true));
    this.catalog.forEach(function (f) { field.appendChild(option(f.name, f.label + (f.unit ? "(" + f.unit + ")" : ""), f.name === cond.field)); });
    field.addEventListener("change", function () {
      var next = self.fields[field.value];
      cond.field = next.name;
      cond.op = next.ops[0][0];
      delete cond.param;
      cond.value = defaultValue(next, cond.op);
      self.changed(true);
    });
    var op = el("select", {class: "rb-op", "aria-label": "条件 " + path + " 的运算"});
    (spec ? spec.ops : [[cond.op, cond.op]]).forEach(function (o) { op.appendChild(option(o[0], o[1], o[0] === cond.op)); });
    op.addEventListener("change", function () {
      var wasList = !!LIST_OPS[cond.op] || cond.op === "between";
      cond.op = op.value;
      var isList = !!LIST_OPS[cond.op] || cond.op === "between";
      if (cond.param === undefined && (wasList !== isList || spec.kind === "choice" || spec.kind === "tag" || spec.kind === "certification")) {
        if (!(spec.kind === "region" || spec.kind === "industry")) cond.value = defaultValue(spec, cond.op);
      }
      self.changed(true);
    });
    var source = el("select", {class: "rb-source", "aria-label": "取值方式"});
    source.appendChild(option("value", "取值", cond.param === undefined));
    source.appendChild(option("param", "参数", cond.param !== undefined));
    source.addEventListener("change", function () {
      if (source.value === "param") { cond.param = ""; delete cond.value; }
      else { delete cond.param; cond.value = defaultValue(spec, cond.op); }
      self.changed(true);
    });
    var showSource = spec && spec.kind !== "region" && spec.kind !== "industry" && spec.kind !== "flag";
    var row = el("div", {class: "rb-cond", "data-path": path}, [
      el("span", {class: "rb-path muted small", text: path}), field, op,
      el("span", {class: "rb-value"}, [valueEditor(spec, cond, function () { self.sync(); })]),
      showSource ? source : null, this.removeButton(cond, parent, "删除")]);
    if (spec && spec.hint) row.title = spec.hint;
    return row;
  };

  // ------------------------------------------------------------ preview charts
  function drawCharts(scope) {
    if (!window.echarts) return;
    Array.prototype.forEach.call(scope.querySelectorAll(".preview-chart"), function (box) {
      var data;
      try { data = JSON.parse(box.getAttribute("data-chart")); } catch (e) { return; }
      // Many categories (按行业门类 has up to 20): horizontal bars, one row each, so every name stays readable.
      var horizontal = data.names.length > 8;
      box.style.height = (horizontal ? Math.max(280, data.names.length * 28 + 70) : 300) + "px";
      var chart = window.echarts.getInstanceByDom(box) || window.echarts.init(box);
      var categories = {type: "category", data: data.names, inverse: horizontal,
                        axisLabel: horizontal ? {width: 120, overflow: "truncate"}
                                              : {interval: 0, rotate: data.names.length > 4 ? 30 : 0, width: 90, overflow: "truncate"}};
      var values = {type: "value", minInterval: 1};
      chart.setOption({
        tooltip: {trigger: "axis", axisPointer: {type: "shadow"}},
        legend: {data: ["符合", "差一项"], top: 0, left: "center"},
        grid: {left: 8, right: 16, top: 36, bottom: 12, containLabel: true},
        xAxis: horizontal ? values : categories,
        yAxis: horizontal ? categories : values,
        series: [{name: "符合", type: "bar", data: data.eligible, itemStyle: {color: "#137333"}},
                 {name: "差一项", type: "bar", data: data.near_miss, itemStyle: {color: "#b45309"}}]
      }, true);
      chart.resize();
    });
  }

  function start() {
    var root = document.getElementById("rule-builder");
    var catalogNode = document.getElementById("rule-catalog");
    if (root && catalogNode) {
      var textarea = document.getElementById(root.getAttribute("data-target") || "id_rule");
      window.ysRuleBuilder = new Builder(root, textarea, JSON.parse(catalogNode.textContent));
    }
    document.body.addEventListener("htmx:afterSwap", function (e) {
      if (e.detail.target && e.detail.target.id === "preview-panel") drawCharts(e.detail.target);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();

  window.ysRules = {fromJSON: fromJSON, toJSON: toJSON};
})();
