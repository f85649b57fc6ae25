// MathJax 3 for pymdownx.arithmatex (generic mode); the script itself is served from the site
// (assets/mathjax/, copied from the django-static-mathjax package by docs/hooks/sigprop_docs.py).
window.MathJax = {
  tex: {
    // \( \) and \[ \] from pymdownx.arithmatex; $ and $$ in the notebooks' Markdown cells
    inlineMath: [["\\(", "\\)"], ["$", "$"]],
    displayMath: [["\\[", "\\]"], ["$$", "$$"]],
    processEscapes: true,
    processEnvironments: true,
    tags: "none"
  },
  options: {
    ignoreHtmlClass: ".*|",
    processHtmlClass: "arithmatex|jp-MarkdownOutput"   // only math markup and notebook Markdown
  }
};

if (typeof document$ !== "undefined") {
  document$.subscribe(() => {
    if (window.MathJax && MathJax.startup && MathJax.typesetPromise) {
      MathJax.startup.output.clearCache();
      MathJax.typesetClear();
      MathJax.texReset();
      MathJax.typesetPromise();
    }
  });
}
