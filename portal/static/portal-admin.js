// What Flask-Admin's templates did with inline event handlers, which the portal's
// Content-Security-Policy does not run: bulk actions, delete confirmation, "#" links.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var actionLink = event.target.closest("[data-portal-action]");
    if (actionLink) {
      event.preventDefault();
      window.modelActions.execute(actionLink.getAttribute("data-portal-action"));
      return;
    }
    var confirmButton = event.target.closest("[data-portal-confirm]");
    if (confirmButton && !window.confirm(confirmButton.getAttribute("data-portal-confirm"))) {
      event.preventDefault();
      return;
    }
    var hashLink = event.target.closest('a[href="#"]');
    if (hashLink) {
      event.preventDefault();
    }
  });
})();
