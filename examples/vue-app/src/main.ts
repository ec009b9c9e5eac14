import { createApp } from 'vue'
import App from './App.vue'
import { restoreSession } from './auth'
import { router } from './router'

restoreSession()

const app = createApp(App)
app.use(router)
app.mount('#app')
