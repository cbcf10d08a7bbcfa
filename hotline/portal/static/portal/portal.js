// The citizen portal's only script of its own (the CSP allows no inline script): a form sent back
// with errors puts the keyboard focus, and the screen, on the list of what to fix at the top.
document.addEventListener("DOMContentLoaded", function () {
  var box = document.querySelector("[data-focus]");
  if (box) {
    box.scrollIntoView({block: "start"});
    box.focus();
  }
});
