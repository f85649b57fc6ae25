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
    // the whole page, but for code (MathJax skips pre and code anyway) and notebook code cells with
    // their outputs; the table of contents shows headings' math typeset as well
    ignoreHtmlClass: "tex2jax_ignore|jp-CodeCell",
    processHtmlClass: "arithmatex|tex2jax_process"
  }
};
