import t from 'tap'
import { html } from '../src/index.js'
t.equal(String(html`<p>${'<'}</p>`), '<p>&lt;</p>')
