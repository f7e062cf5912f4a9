// The render benchmark's page with ghtml: the same markup as page-nex.js. Correct ghtml usage: nested
// templates and arrays of templates are interpolated with `!${…}` so they are not escaped again.
import { html } from 'ghtml'
import { makeData } from './data.js'

const navItem = (item) => html`<li><a href="${item.href}" class="${item.current ? 'nav-link current' : 'nav-link'}"!${item.current ? html` aria-current="page"` : null}>${item.label}</a></li>`

const layout = (data, content) => html`<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>${data.title} · Admin</title>
  <link rel="stylesheet" href="/styles.css">
  <script src="/_nex/htmx@4.0.1/htmx.min.js" defer></script>
</head>
<body>
  <header class="top">
    <nav aria-label="Main"><ul>!${data.nav.map(navItem)}</ul></nav>
    <div class="me"><img src="${data.currentUser.avatar}" alt="${data.currentUser.name}" width="24" height="24"> ${data.currentUser.name}</div>
  </header>
  <main class="container">!${content}</main>
  <footer><p>Signed in as ${data.currentUser.name}. &copy; Example Corp.</p></footer>
</body>
</html>`

const tag = (name) => html`<i class="tag">${name}</i>`

const row = (user) => html`<tr id="user-${user.id}"!${user.active ? null : html` class="inactive"`}><td><a href="/users/${user.id}">${user.name}</a></td><td>${user.email}</td><td class="${user.role}">${user.role}</td><td>!${user.tags.map(tag)}</td><td>${user.note}</td></tr>
    `

const pageLink = (n, current) => html`<a href="/users?page=${n}"!${n === current ? html` aria-current="page"` : null}>${n}</a>`

const usersPage = (data) => html`<h1>${data.title}</h1>
<form class="search" hx-get="/users" hx-target="#users">
  <input type="search" name="q" value="${data.query}" placeholder="Search users">
  <button>Search</button>
</form>
<table id="users">
  <thead><tr><th>Name</th><th>Email</th><th>Role</th><th>Tags</th><th>Note</th></tr></thead>
  <tbody>
    !${data.users.map(row)}
  </tbody>
</table>
<nav class="pagination">!${Array.from({ length: data.pages }, (_, i) => pageLink(i + 1, data.page))}</nav>`

export const render = (data) => layout(data, usersPage(data))

export function setup () {
  const data = makeData()
  return () => render(data)
}
