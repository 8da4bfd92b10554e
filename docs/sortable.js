// Sorts a table of class "sortable" by the column whose header is clicked (a second click
// reverses the order). Cells with a data-value attribute sort as numbers, others as text.
(function () {
  function makeSortable(table) {
    var headers = table.querySelectorAll('thead th');
    headers.forEach(function (th, column) {
      th.title = 'Sort by ' + th.textContent;
      th.addEventListener('click', function () {
        var ascending = th.getAttribute('data-order') !== 'ascending';
        headers.forEach(function (h) { h.removeAttribute('data-order'); });
        th.setAttribute('data-order', ascending ? 'ascending' : 'descending');
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = a.cells[column], y = b.cells[column];
          var vx = x.getAttribute('data-value'), vy = y.getAttribute('data-value');
          var order = vx !== null && vy !== null
              ? Number(vx) - Number(vy)
              : x.textContent.localeCompare(y.textContent, undefined, {numeric: true});
          return ascending ? order : -order;
        });
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
  }
  function init() {
    document.querySelectorAll('table.sortable').forEach(makeSortable);
  }
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', init);
  } else {
    init();
  }
})();
