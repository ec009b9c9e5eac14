import { createRouter, createWebHistory } from 'vue-router'
import { currentUser } from './auth'
import BooksView from './views/BooksView.vue'
import LoginView from './views/LoginView.vue'

export const router = createRouter({
  history: createWebHistory(),
  routes: [
    { path: '/', name: 'books', component: BooksView, meta: { signedIn: true } },
    { path: '/login', name: 'login', component: LoginView },
  ],
})

router.beforeEach((to) => {
  if (to.meta.signedIn && !currentUser.value) {
    return { name: 'login', query: { next: to.fullPath } }
  }
})
