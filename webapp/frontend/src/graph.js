// The /graph page: the network of organizations, components and goals, drawn by cytoscape.
// Bundled by esbuild at setup and served from /static/vendor/ (no CDN).
import cytoscape from "cytoscape";

const container = document.getElementById("network");
const selection = document.getElementById("selection");
const COLORS = { home: "#a33", organization: "#2b5dab", component: "#4a7", goal: "#c80" };

async function main() {
  const response = await fetch(container.dataset.src, { headers: { Accept: "application/json" } });
  const data = await response.json();
  const elements = [
    ...data.nodes.map((n) => ({ data: { id: n.id, label: n.label, kind: n.kind, qid: n.qid || "", page: n.page || "" } })),
    ...data.edges.map((e, i) => ({ data: { id: `e${i}`, source: e.source, target: e.target, relation: e.relation } })),
  ];
  const cy = cytoscape({
    container,
    elements,
    style: [
      { selector: "node", style: { label: "data(label)", "font-size": 9, width: 14, height: 14, color: "#1d2433",
        "text-valign": "bottom", "text-margin-y": 2, "background-color": (n) => COLORS[n.data("kind")] || "#888" } },
      { selector: 'node[kind = "organization"]', style: { shape: "ellipse", width: 18, height: 18 } },
      { selector: 'node[kind = "home"]', style: { shape: "star", width: 30, height: 30 } },
      { selector: 'node[kind = "goal"]', style: { shape: "diamond" } },
      { selector: "edge", style: { width: 1, "line-color": "#c5cad3", "curve-style": "haystack" } },
      { selector: ".faded", style: { opacity: 0.12 } },
      { selector: "node:selected", style: { "border-width": 3, "border-color": "#1d2433" } },
    ],
    layout: { name: "cose", animate: false, nodeRepulsion: () => 9000, idealEdgeLength: () => 60, randomize: false },
  });
  cy.on("tap", "node", (event) => {
    const node = event.target;
    const hood = node.closedNeighborhood();
    cy.elements().addClass("faded");
    hood.removeClass("faded");
    selection.replaceChildren();
    const name = document.createElement("strong");
    name.textContent = node.data("label");
    selection.append(name, ` (${node.data("kind")}), ${node.neighborhood("node").length} neighbours`);
    const links = [];
    if (node.data("page")) {
      const link = document.createElement("a");
      link.href = node.data("page");
      link.textContent = "organization page";
      links.push(link);
    }
    if (node.data("qid")) {
      const wd = document.createElement("a");
      wd.href = `https://www.wikidata.org/wiki/${encodeURIComponent(node.data("qid"))}`;
      wd.rel = "noopener";
      wd.textContent = "Wikidata";
      links.push(wd);
    }
    links.forEach((a, i) => selection.append(i === 0 ? " — " : " · ", a));
  });
  cy.on("tap", (event) => {
    if (event.target === cy) {
      cy.elements().removeClass("faded");
      selection.textContent = "";
    }
  });
  window.partnergraphGraph = cy;
}

main().catch((err) => { selection.textContent = `could not draw the network: ${err}`; });
